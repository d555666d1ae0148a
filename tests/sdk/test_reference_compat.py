"""Caller code in the style of the published users-service reference, run on the SDK.

The helpers below follow the logic of the reference's examples (a page loop, a
retry loop with exponential backoff, a circuit breaker class, a group analysis)
so that these tests show the examples still work when wrapped around this SDK.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from typing import Any

import pytest

import roster
from roster import GroupError, UserError

from .scripted_server import Reply, ScriptedServer, error, free_port, page


def users(*ids: str) -> list[dict[str, Any]]:
    return [
        {"id": i, "name": f"User {i}", "email": f"{i}@x.org", "status": "active"}
        for i in ids
    ]


def load_all_users(client: roster.Client, page_size: int) -> list[dict[str, Any]]:
    """Page loop of the reference: ask for pages until one comes back empty."""
    collected: list[dict[str, Any]] = []
    number = 1
    while True:
        try:
            batch = client.users.list_users(limit=page_size, page=number)
        except UserError:
            break
        if not batch:
            break
        collected.extend(batch)
        number += 1
    return collected


def list_users_with_retry(
    client: roster.Client,
    sleep: Callable[[float], None],
    max_retries: int = 3,
    base_delay: float = 1.0,
    max_delay: float = 60.0,
    backoff_factor: float = 2.0,
) -> list[dict[str, Any]]:
    """Retry loop of the reference: catch UserError, back off, raise at the end."""
    for attempt in range(max_retries + 1):
        try:
            return client.users.list_users(limit=1000)
        except UserError:
            if attempt == max_retries:
                raise
            delay = min(base_delay * backoff_factor**attempt, max_delay)
            sleep(delay + random.uniform(0.1, 0.2) * delay)
    return []


class CircuitState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CallerCircuitBreaker:
    """Circuit breaker class of the reference, with an injected clock."""

    def __init__(
        self,
        clock: Callable[[], float],
        failure_threshold: int = 5,
        recovery_timeout: float = 60.0,
        expected_exception: type[Exception] = UserError,
    ) -> None:
        self.clock = clock
        self.failure_threshold = failure_threshold
        self.recovery_timeout = recovery_timeout
        self.expected_exception = expected_exception
        self.failure_count = 0
        self.last_failure_time: float | None = None
        self.state = CircuitState.CLOSED

    def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.state == CircuitState.OPEN:
            assert self.last_failure_time is not None
            if self.clock() - self.last_failure_time >= self.recovery_timeout:
                self.state = CircuitState.HALF_OPEN
            else:
                raise Exception("Circuit breaker is OPEN - service unavailable")
        try:
            result = func(*args, **kwargs)
        except self.expected_exception:
            self.failure_count += 1
            self.last_failure_time = self.clock()
            if self.failure_count >= self.failure_threshold:
                self.state = CircuitState.OPEN
            raise
        self.failure_count = 0
        self.state = CircuitState.CLOSED
        return result


def test_page_loop_collects_every_user_with_cursors(server, make_client):
    server.play(
        Reply(200, page(users("a", "b"), has_more=True, next_cursor="c1")),
        Reply(200, page(users("c", "d"), has_more=True, next_cursor="c2")),
        Reply(200, page(users("e"), has_more=False)),
        Reply(200, page([], has_more=False)),
    )

    collected = load_all_users(make_client(server.url), page_size=2)

    assert [u["id"] for u in collected] == ["a", "b", "c", "d", "e"]
    assert [r.param("page") for r in server.requests] == ["1", "2", "3", "4"]
    assert [r.param("cursor") for r in server.requests] == [None, "c1", "c2", None]


def test_example_fields_are_present(server, make_client):
    server.play(Reply(200, page(users("a"))))

    user = make_client(server.url).users.list_users(limit=50, page=1)[0]

    assert user.get("id") == "a"
    assert user.get("name") == "User a"
    assert user.get("email") == "a@x.org"
    assert user.get("status") == "active"


def test_caller_retry_loop_recovers(server, make_client):
    server.play(Reply(503), Reply(503), Reply(200, page(users("a"))))
    delays: list[float] = []

    result = list_users_with_retry(make_client(server.url, retry=None), delays.append)

    assert [u["id"] for u in result] == ["a"]
    assert server.count == 3
    assert len(delays) == 2
    assert 1.1 <= delays[0] <= 1.2
    assert 2.2 <= delays[1] <= 2.4


def test_caller_retry_loop_raises_user_error_at_end(server, make_client):
    server.play(*[Reply(500, error("internal_error", "bug"))] * 4)
    delays: list[float] = []

    with pytest.raises(UserError):
        list_users_with_retry(make_client(server.url, retry=None), delays.append)

    assert server.count == 4
    assert len(delays) == 3


def test_caller_retry_loop_over_sdk_retries(server, make_client):
    # Each caller attempt is one SDK call of up to 4 requests. Four failures stay
    # under the default breaker threshold of 5.
    server.play(*[Reply(503)] * 4, Reply(200, page(users("a"))))
    delays: list[float] = []

    result = list_users_with_retry(make_client(server.url), delays.append)

    assert [u["id"] for u in result] == ["a"]
    assert server.count == 5
    assert len(delays) == 1


def test_caller_circuit_breaker_opens_and_recovers(make_client, fake_time):
    port = free_port()
    client = make_client(f"http://127.0.0.1:{port}", retry=None, circuit_breaker=None)
    breaker = CallerCircuitBreaker(
        fake_time.clock, failure_threshold=3, recovery_timeout=30.0
    )

    for _ in range(3):
        with pytest.raises(UserError):
            breaker.call(client.users.list_users, limit=100)
    assert breaker.state == CircuitState.OPEN

    with pytest.raises(Exception, match="Circuit breaker is OPEN"):
        breaker.call(client.users.list_users, limit=100)

    with ScriptedServer(port) as server:
        server.play(Reply(200, page(users("a"))))
        fake_time.advance(30.0)
        result = breaker.call(client.users.list_users, limit=100)
        assert server.count == 1

    assert [u["id"] for u in result] == ["a"]
    assert breaker.state == CircuitState.CLOSED


def test_caller_circuit_breaker_sees_sdk_circuit_errors(server, make_client):
    server.play(Reply(503))
    client = make_client(
        server.url,
        retry=None,
        circuit_breaker=roster.CircuitBreakerPolicy(failure_threshold=1),
    )
    breaker = CallerCircuitBreaker(lambda: 0.0, failure_threshold=2)

    for _ in range(2):
        with pytest.raises(UserError):
            breaker.call(client.users.list_users)

    assert breaker.state == CircuitState.OPEN
    assert server.count == 1


def test_group_analysis_example(server, make_client):
    groups = [
        {"uuid": "g1", "name": "admins", "description": "Admins", "system": True},
        {"uuid": "g2", "name": "api-approvers", "description": "APIs", "system": False},
        {"uuid": "g3", "name": "docs", "system": False},
    ]
    server.play(Reply(200, groups))

    listed = make_client(server.url).users.list_groups()
    system_groups = [g for g in listed if g.get("system", False)]
    custom_groups = [g for g in listed if not g.get("system", False)]
    lines = [
        f"{g.get('name', 'N/A')} ({'System' if g.get('system', False) else 'Custom'}): "
        f"{g.get('description', 'No description')}"
        for g in listed
    ]

    assert len(system_groups) == 1
    assert len(custom_groups) == 2
    assert lines[2] == "docs (Custom): No description"


def test_organization_data_example_reports_partial_failure(server, make_client):
    server.play(
        Reply(200, page(users("a", "b"))),
        Reply(403, error("forbidden", "no permission to list groups")),
    )
    client = make_client(server.url)
    result: dict[str, Any] = {"users": [], "groups": [], "errors": []}

    try:
        result["users"] = client.users.list_users(limit=1000)
    except UserError as failure:
        result["errors"].append(f"Failed to retrieve users: {failure}")
    try:
        result["groups"] = client.users.list_groups()
    except GroupError as failure:
        result["errors"].append(f"Failed to retrieve groups: {failure}")

    assert len(result["users"]) == 2
    assert len(result["errors"]) == 1
    assert "permission" in result["errors"][0].lower()


def test_timeout_message_matches_reference_check(server, make_client):
    server.play(Reply(200, [], delay=1.0))
    client = make_client(
        server.url, retry=None, timeout=roster.Timeouts(connect=1.0, read=0.1)
    )

    with pytest.raises(GroupError) as caught:
        client.users.list_groups()

    assert "timeout" in str(caught.value).lower()
