"""The published reference's examples, rewritten as tests against a live server.

Each test makes the calls its example makes and reads the fields its example
reads, with only the imports and the client's construction changed. It checks
that every field read has a real value rather than the example's fallback
('unknown', 'N/A').
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

import pytest

import roster
from roster.exceptions import (
    GroupError,
    GroupNotFoundError,
    UserError,
    UserNotFoundError,
)

FALLBACKS = {"unknown", "N/A", "No description"}


@pytest.fixture
def client(k8s_org: Any) -> Any:
    with roster.Client(base_url=k8s_org.url, api_key=k8s_org.api_key) as client:
        yield client


def test_list_users_fields_have_real_values(client: Any) -> None:
    users = client.users.list_users(limit=50, page=1)

    assert len(users) == 50
    for user in users:
        for field in ("id", "name", "email", "status"):
            assert user.get(field, "unknown") not in FALLBACKS, (field, user)
        assert user["status"] == "active"


def test_pagination_loop_loads_every_user(client: Any) -> None:
    loaded: list[dict[str, Any]] = []
    page = 1
    while True:
        batch = client.users.list_users(limit=100, page=page)
        if not batch:
            break
        loaded.extend(batch)
        page += 1

    assert len(loaded) == 1276
    assert len({u["id"] for u in loaded}) == 1276
    assert page == 14


def test_list_groups_fields_have_real_values(client: Any) -> None:
    groups = client.users.list_groups()

    assert len(groups) == 286
    for group in groups:
        assert group.get("uuid", "unknown") not in FALLBACKS
        assert group.get("name", "N/A") not in FALLBACKS
        assert "description" in group
    described = [g for g in groups if g["description"]]
    assert len(described) > 200


def test_group_analysis_splits_system_and_custom(client: Any) -> None:
    groups = client.users.list_groups()

    system = [g for g in groups if g.get("system", False)]
    custom = [g for g in groups if not g.get("system", False)]
    assert sorted(g["name"] for g in system) == ["admins", "everyone"]
    assert len(custom) == 284
    assert all(isinstance(g["system"], bool) for g in groups)


def test_user_error_catches_a_rejected_key(k8s_org: Any) -> None:
    client = roster.Client(base_url=k8s_org.url, api_key="rst_wrong")
    with client, pytest.raises(UserError) as caught:
        client.users.list_users()

    assert caught.value.status_code == 401
    assert "Failed to list users" in str(caught.value)


def test_user_not_found_for_unknown_id(client: Any) -> None:
    with pytest.raises(UserNotFoundError) as caught:
        client.users.get_user(user_id="some-id")

    assert isinstance(caught.value, UserError)
    assert caught.value.status_code == 404


def test_group_error_message_names_the_failure(k8s_org: Any) -> None:
    client = roster.Client(base_url=k8s_org.url, api_key="rst_wrong")
    with client, pytest.raises(GroupError) as caught:
        client.users.list_groups()

    assert not isinstance(caught.value, UserError)
    message = str(caught.value).lower()
    assert "failed to list groups" in message
    assert caught.value.status_code == 401


def test_group_not_found_for_unknown_id(client: Any) -> None:
    with pytest.raises(GroupNotFoundError) as caught:
        client.users.get_group(group_id="some-id")

    assert isinstance(caught.value, GroupError)
    assert caught.value.status_code == 404


def test_organization_data_with_limit_1000(client: Any) -> None:
    result: dict[str, Any] = {"users": [], "groups": [], "errors": []}
    try:
        result["users"] = client.users.list_users(limit=1000)
    except UserError as error:
        result["errors"].append(f"users: {error}")
    try:
        result["groups"] = client.users.list_groups()
    except GroupError as error:
        result["errors"].append(f"groups: {error}")

    assert result["errors"] == []
    assert len(result["users"]) == 1000
    assert len(result["groups"]) == 286


def test_caller_retry_loop_wraps_the_sdk(client: Any) -> None:
    delays: list[float] = []

    def list_users_with_retry(max_retries: int = 3) -> list[dict[str, Any]]:
        for attempt in range(max_retries + 1):
            try:
                users: list[dict[str, Any]] = client.users.list_users(limit=1000)
                return users
            except UserError:
                if attempt == max_retries:
                    raise
                delay = min(1.0 * 2.0**attempt, 60.0)
                delays.append(delay + random.uniform(0.1, 0.2) * delay)
        return []

    users = list_users_with_retry()

    assert len(users) == 1000
    assert delays == []


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CallerBreaker:
    """The caller-side breaker of the reference's pattern, written anew."""

    def __init__(self, threshold: int, recovery: float) -> None:
        self.threshold = threshold
        self.recovery = recovery
        self.failures = 0
        self.opened_at = 0.0
        self.state = State.CLOSED

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.state is State.OPEN:
            if time.monotonic() - self.opened_at < self.recovery:
                raise RuntimeError("circuit open")
            self.state = State.HALF_OPEN
        try:
            result = function(*args, **kwargs)
        except UserError:
            self.failures += 1
            if self.failures >= self.threshold:
                self.state = State.OPEN
                self.opened_at = time.monotonic()
            raise
        self.failures = 0
        self.state = State.CLOSED
        return result


def test_caller_circuit_breaker_wraps_the_sdk(client: Any) -> None:
    breaker = CallerBreaker(threshold=3, recovery=30.0)

    users = breaker.call(client.users.list_users, limit=100)

    assert len(users) == 100
    assert breaker.state is State.CLOSED


def test_caller_circuit_breaker_opens_on_user_errors(k8s_org: Any) -> None:
    breaker = CallerBreaker(threshold=3, recovery=30.0)
    with roster.Client(base_url=k8s_org.url, api_key="rst_wrong") as client:
        for _ in range(3):
            with pytest.raises(UserError):
                breaker.call(client.users.list_users, limit=100)

    assert breaker.state is State.OPEN
