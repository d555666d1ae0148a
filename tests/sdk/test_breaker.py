"""Circuit breaker of the blocking client, alone and against a scripted server."""

from __future__ import annotations

import logging
import threading

import pytest

import roster
from roster.sdk._breaker import CircuitBreaker, CircuitRejected

from .conftest import FakeTime
from .scripted_server import Reply, ScriptedServer, error, free_port, page

USERS = page([{"id": "u1", "email": "a@example.org"}])


def breaker_policy(threshold: int = 2) -> roster.CircuitBreakerPolicy:
    return roster.CircuitBreakerPolicy(
        failure_threshold=threshold, recovery_timeout=10.0
    )


def test_breaker_counts_failures_until_threshold():
    fake = FakeTime()
    breaker = CircuitBreaker(breaker_policy(3), "test", fake.clock)

    for _ in range(2):
        assert breaker.acquire() is False
        breaker.record(trial=False, failed=True)

    assert breaker.state == "closed"
    assert breaker.failure_count == 2
    breaker.acquire()
    breaker.record(trial=False, failed=True)
    assert breaker.state == "open"


def test_breaker_success_resets_count():
    breaker = CircuitBreaker(breaker_policy(2), "test", FakeTime().clock)

    breaker.record(trial=False, failed=True)
    breaker.record(trial=False, failed=False)
    breaker.record(trial=False, failed=True)

    assert breaker.state == "closed"
    assert breaker.failure_count == 1


def test_abandoned_trial_lets_next_attempt_try():
    fake = FakeTime()
    breaker = CircuitBreaker(breaker_policy(1), "test", fake.clock)
    breaker.record(trial=False, failed=True)
    fake.advance(10.0)

    assert breaker.acquire() is True
    with pytest.raises(CircuitRejected):
        breaker.acquire()
    breaker.release(trial=True)

    assert breaker.state == "open"
    assert breaker.acquire() is True


@pytest.mark.parametrize(
    "options",
    [
        {"failure_threshold": 0},
        {"failure_threshold": True},
        {"recovery_timeout": -1},
        {"recovery_timeout": float("nan")},
    ],
)
def test_invalid_breaker_policy_raises(options):
    with pytest.raises(roster.InvalidArgumentError):
        roster.CircuitBreakerPolicy(**options)


def test_refused_connections_open_circuit_until_server_returns(make_client, fake_time):
    port = free_port()
    client = make_client(
        f"http://127.0.0.1:{port}", retry=None, circuit_breaker=breaker_policy(3)
    )

    for _ in range(3):
        with pytest.raises(roster.UserError) as caught:
            client.users.list_users()
        assert not isinstance(caught.value, roster.CircuitOpenError)
    assert client.circuit_breaker.state == "open"

    with pytest.raises(roster.UserCircuitOpenError) as rejected:
        client.users.list_users()
    assert rejected.value.attempts == 0
    assert rejected.value.retry_after == pytest.approx(10.0)
    assert "is open after 3 consecutive failures" in str(rejected.value)

    with ScriptedServer(port) as server:
        server.play(Reply(200, USERS))
        fake_time.advance(10.0)
        assert client.users.list_users() == USERS["items"]
        assert server.count == 1
    assert client.circuit_breaker.state == "closed"


def test_open_circuit_sends_no_request(server, make_client):
    server.play(Reply(503), Reply(503), Reply(200, USERS))
    client = make_client(server.url, retry=None, circuit_breaker=breaker_policy(2))

    for _ in range(2):
        with pytest.raises(roster.UserError):
            client.users.list_users()
    for _ in range(5):
        with pytest.raises(roster.UserCircuitOpenError):
            client.users.list_users()

    assert server.count == 2


def test_failed_trial_reopens_with_fresh_timer(server, make_client, fake_time):
    server.play(Reply(503), Reply(503), Reply(500), Reply(200, USERS))
    client = make_client(server.url, retry=None, circuit_breaker=breaker_policy(2))
    for _ in range(2):
        with pytest.raises(roster.UserError):
            client.users.list_users()

    fake_time.advance(10.0)
    with pytest.raises(roster.UserError) as trial:
        client.users.list_users()
    assert trial.value.status_code == 500
    assert client.circuit_breaker.state == "open"

    with pytest.raises(roster.UserCircuitOpenError) as rejected:
        client.users.list_users()
    assert rejected.value.retry_after == pytest.approx(10.0)
    assert server.count == 3


def test_rejected_calls_do_not_delay_recovery(server, make_client, fake_time):
    server.play(Reply(503), Reply(503), Reply(200, USERS))
    client = make_client(server.url, retry=None, circuit_breaker=breaker_policy(2))
    for _ in range(2):
        with pytest.raises(roster.UserError):
            client.users.list_users()

    fake_time.advance(6.0)
    with pytest.raises(roster.UserCircuitOpenError) as rejected:
        client.users.list_users()
    assert rejected.value.retry_after == pytest.approx(4.0)

    fake_time.advance(4.0)
    assert client.users.list_users() == USERS["items"]
    assert client.circuit_breaker.state == "closed"


@pytest.mark.parametrize("status", [400, 401, 404, 409, 412, 429])
def test_client_errors_do_not_count_as_failures(server, make_client, status):
    server.play(*[Reply(status, error("some_code", "no"))] * 3)
    client = make_client(server.url, retry=None, circuit_breaker=breaker_policy(2))

    for _ in range(3):
        with pytest.raises(roster.UserError):
            client.users.list_users()

    assert client.circuit_breaker.state == "closed"
    assert client.circuit_breaker.failure_count == 0


def test_client_error_breaks_run_of_failures(server, make_client):
    server.play(Reply(503), Reply(404), Reply(503))
    client = make_client(server.url, retry=None, circuit_breaker=breaker_policy(2))

    for _ in range(3):
        with pytest.raises(roster.UserError):
            client.users.get_user("u1")

    assert client.circuit_breaker.state == "closed"


def test_each_retry_attempt_counts_as_failure(server, make_client):
    server.play(*[Reply(503, error("unavailable", "down"))] * 5)
    retry = roster.RetryPolicy(max_attempts=5, jitter="none")
    client = make_client(server.url, retry=retry, circuit_breaker=breaker_policy(3))

    with pytest.raises(roster.UserCircuitOpenError) as caught:
        client.users.list_users()

    assert server.count == 3
    assert caught.value.attempts == 3
    assert caught.value.status_code == 503
    assert isinstance(caught.value.__cause__, roster.UserError)
    assert "the last attempt failed with: HTTP 503 unavailable" in str(caught.value)
    assert str(caught.value).count("Failed to list users") == 1


def test_group_call_rejection_is_group_error(server, make_client):
    server.play(Reply(503))
    client = make_client(server.url, retry=None, circuit_breaker=breaker_policy(1))
    with pytest.raises(roster.UserError):
        client.users.list_users()

    with pytest.raises(roster.GroupError) as caught:
        client.users.list_groups()

    assert isinstance(caught.value, roster.GroupCircuitOpenError)
    assert isinstance(caught.value, roster.CircuitOpenError)
    assert not isinstance(caught.value, roster.UserError)


def test_feed_call_rejection_is_circuit_open_error(server, make_client):
    server.play(Reply(503))
    client = make_client(server.url, retry=None, circuit_breaker=breaker_policy(1))
    with pytest.raises(roster.RosterError):
        client.changes.list_changes()

    with pytest.raises(roster.CircuitOpenError) as caught:
        client.changes.list_changes()

    assert not isinstance(caught.value, roster.UserError | roster.GroupError)


def test_half_open_lets_one_thread_through(server, make_client, fake_time):
    server.play(Reply(503), Reply(200, USERS, delay=0.5))
    client = make_client(server.url, retry=None, circuit_breaker=breaker_policy(1))
    with pytest.raises(roster.UserError):
        client.users.list_users()
    fake_time.advance(10.0)

    callers = 8
    barrier = threading.Barrier(callers)
    outcomes: list[object] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait()
        try:
            result: object = client.users.list_users()
        except roster.UserError as failure:
            result = failure
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    successes = [o for o in outcomes if o == USERS["items"]]
    rejections = [o for o in outcomes if isinstance(o, roster.UserCircuitOpenError)]
    assert server.count == 2
    assert len(successes) == 1
    assert len(rejections) == callers - 1
    assert client.circuit_breaker.state == "closed"


def test_disabled_breaker_never_rejects(server, make_client):
    server.play(*[Reply(503)] * 8)
    client = make_client(server.url, retry=None, circuit_breaker=None)

    for _ in range(8):
        with pytest.raises(roster.UserError) as caught:
            client.users.list_users()
        assert not isinstance(caught.value, roster.CircuitOpenError)

    assert client.circuit_breaker is None
    assert server.count == 8


def test_state_changes_are_logged_at_warning(server, make_client, fake_time, caplog):
    server.play(Reply(503), Reply(200, USERS))
    client = make_client(server.url, retry=None, circuit_breaker=breaker_policy(1))
    caplog.set_level(logging.WARNING, logger="roster")

    with pytest.raises(roster.UserError):
        client.users.list_users()
    fake_time.advance(10.0)
    client.users.list_users()

    changes = [
        r.getMessage()
        for r in caplog.records
        if r.name == "roster.sdk._breaker" and r.levelno == logging.WARNING
    ]
    assert len(changes) == 3
    assert "from closed to open" in changes[0]
    assert "from open to half_open" in changes[1]
    assert "from half_open to closed" in changes[2]
    assert server.url in changes[0]
