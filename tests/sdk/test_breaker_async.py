"""Circuit breaker of the asyncio client against a scripted server."""

from __future__ import annotations

import asyncio
import logging

import pytest

import roster

from .scripted_server import Reply, ScriptedServer, error, free_port, page

USERS = page([{"id": "u1", "email": "a@example.org"}])


def breaker_policy(threshold: int = 2) -> roster.CircuitBreakerPolicy:
    return roster.CircuitBreakerPolicy(
        failure_threshold=threshold, recovery_timeout=10.0
    )


@pytest.mark.asyncio
async def test_refused_connections_open_circuit_until_server_returns(
    make_async_client, fake_time
):
    port = free_port()
    client = make_async_client(
        f"http://127.0.0.1:{port}", retry=None, circuit_breaker=breaker_policy(3)
    )

    for _ in range(3):
        with pytest.raises(roster.UserError) as caught:
            await client.users.list_users()
        assert not isinstance(caught.value, roster.CircuitOpenError)
    assert client.circuit_breaker.state == "open"

    with pytest.raises(roster.UserCircuitOpenError) as rejected:
        await client.users.list_users()
    assert rejected.value.attempts == 0
    assert rejected.value.retry_after == pytest.approx(10.0)

    with ScriptedServer(port) as server:
        server.play(Reply(200, USERS))
        fake_time.advance(10.0)
        assert await client.users.list_users() == USERS["items"]
        assert server.count == 1
    assert client.circuit_breaker.state == "closed"


@pytest.mark.asyncio
async def test_failed_trial_reopens_with_fresh_timer(
    server, make_async_client, fake_time
):
    server.play(Reply(503), Reply(503), Reply(500))
    client = make_async_client(
        server.url, retry=None, circuit_breaker=breaker_policy(2)
    )
    for _ in range(2):
        with pytest.raises(roster.UserError):
            await client.users.list_users()

    fake_time.advance(10.0)
    with pytest.raises(roster.UserError) as trial:
        await client.users.list_users()
    assert trial.value.status_code == 500

    with pytest.raises(roster.UserCircuitOpenError) as rejected:
        await client.users.list_users()
    assert rejected.value.retry_after == pytest.approx(10.0)
    assert server.count == 3


@pytest.mark.asyncio
async def test_rejected_calls_do_not_delay_recovery(
    server, make_async_client, fake_time
):
    server.play(Reply(503), Reply(503), Reply(200, USERS))
    client = make_async_client(
        server.url, retry=None, circuit_breaker=breaker_policy(2)
    )
    for _ in range(2):
        with pytest.raises(roster.UserError):
            await client.users.list_users()

    fake_time.advance(6.0)
    with pytest.raises(roster.UserCircuitOpenError):
        await client.users.list_users()
    fake_time.advance(4.0)

    assert await client.users.list_users() == USERS["items"]
    assert client.circuit_breaker.state == "closed"


@pytest.mark.asyncio
async def test_client_errors_do_not_count_as_failures(server, make_async_client):
    server.play(*[Reply(404, error("user_not_found", "no"))] * 3)
    client = make_async_client(
        server.url, retry=None, circuit_breaker=breaker_policy(2)
    )

    for _ in range(3):
        with pytest.raises(roster.UserNotFoundError):
            await client.users.get_user("u1")

    assert client.circuit_breaker.state == "closed"


@pytest.mark.asyncio
async def test_each_retry_attempt_counts_as_failure(server, make_async_client):
    server.play(*[Reply(503)] * 5)
    retry = roster.RetryPolicy(max_attempts=5, jitter="none")
    client = make_async_client(
        server.url, retry=retry, circuit_breaker=breaker_policy(3)
    )

    with pytest.raises(roster.UserCircuitOpenError) as caught:
        await client.users.list_users()

    assert server.count == 3
    assert caught.value.attempts == 3


@pytest.mark.asyncio
async def test_group_call_rejection_is_group_error(server, make_async_client):
    server.play(Reply(503))
    client = make_async_client(
        server.url, retry=None, circuit_breaker=breaker_policy(1)
    )
    with pytest.raises(roster.UserError):
        await client.users.list_users()

    with pytest.raises(roster.GroupError) as caught:
        await client.users.list_groups()

    assert isinstance(caught.value, roster.GroupCircuitOpenError)
    assert not isinstance(caught.value, roster.UserError)


@pytest.mark.asyncio
async def test_half_open_lets_one_task_through(server, make_async_client, fake_time):
    server.play(Reply(503), Reply(200, USERS, delay=0.3))
    client = make_async_client(
        server.url, retry=None, circuit_breaker=breaker_policy(1)
    )
    with pytest.raises(roster.UserError):
        await client.users.list_users()
    fake_time.advance(10.0)

    tasks = 8
    outcomes = await asyncio.gather(
        *(client.users.list_users() for _ in range(tasks)), return_exceptions=True
    )

    successes = [o for o in outcomes if o == USERS["items"]]
    rejections = [o for o in outcomes if isinstance(o, roster.UserCircuitOpenError)]
    assert server.count == 2
    assert len(successes) == 1
    assert len(rejections) == tasks - 1
    assert client.circuit_breaker.state == "closed"


@pytest.mark.asyncio
async def test_cancelled_trial_frees_trial_slot(server, make_async_client, fake_time):
    server.play(Reply(503), Reply(200, USERS, delay=5.0), Reply(200, USERS))
    client = make_async_client(
        server.url, retry=None, circuit_breaker=breaker_policy(1)
    )
    with pytest.raises(roster.UserError):
        await client.users.list_users()
    fake_time.advance(10.0)

    trial = asyncio.create_task(client.users.list_users())
    for _ in range(500):
        if server.count == 2:
            break
        await asyncio.sleep(0.01)
    assert server.count == 2
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial

    assert client.circuit_breaker.state == "open"
    assert await client.users.list_users() == USERS["items"]
    assert client.circuit_breaker.state == "closed"


@pytest.mark.asyncio
async def test_state_changes_are_logged_at_warning(
    server, make_async_client, fake_time, caplog
):
    server.play(Reply(503), Reply(200, USERS))
    client = make_async_client(
        server.url, retry=None, circuit_breaker=breaker_policy(1)
    )
    caplog.set_level(logging.WARNING, logger="roster")

    with pytest.raises(roster.UserError):
        await client.users.list_users()
    fake_time.advance(10.0)
    await client.users.list_users()

    changes = [
        r.getMessage() for r in caplog.records if r.name == "roster.sdk._breaker"
    ]
    assert len(changes) == 3
    assert "from closed to open" in changes[0]
    assert "from open to half_open" in changes[1]
    assert "from half_open to closed" in changes[2]
