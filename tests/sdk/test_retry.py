"""Retries of the blocking client against a scripted server on loopback."""

from __future__ import annotations

import logging
import time
from email.utils import formatdate

import pytest

import roster
from roster.sdk._call import USER, Call
from roster.sdk._pages import parse_resource

from .conftest import FakeTime
from .scripted_server import (
    Close,
    Reply,
    Reset,
    ResetMidBody,
    ScriptedServer,
    error,
    free_port,
    page,
)

USERS = page([{"id": "u1", "email": "a@example.org"}])


def test_503_then_200_is_retried(server, make_client, fake_time: FakeTime):
    server.play(Reply(503), Reply(503), Reply(200, USERS))

    users = make_client(server.url).users.list_users()

    assert users == USERS["items"]
    assert server.count == 3
    assert fake_time.sleeps == [0.2, 0.4]


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_status_is_retried(server, make_client, status):
    server.play(Reply(status), Reply(200, USERS))

    assert make_client(server.url).users.list_users() == USERS["items"]
    assert server.count == 2


def test_spent_attempts_raise_user_error(server, make_client, fake_time):
    server.play(*[Reply(503, error("unavailable", "database down", "r-9"))] * 4)

    with pytest.raises(roster.UserError) as caught:
        make_client(server.url).users.list_users()

    assert server.count == 4
    assert fake_time.sleeps == [0.2, 0.4, 0.8]
    assert caught.value.attempts == 4
    assert caught.value.status_code == 503
    assert caught.value.code == "unavailable"
    assert str(caught.value) == (
        "Failed to list users after 4 attempts: HTTP 503 unavailable: "
        "database down (request id r-9)"
    )


def test_spent_attempts_of_group_call_raise_group_error(server, make_client):
    server.play(*[Reply(502)] * 4)

    with pytest.raises(roster.GroupError) as caught:
        make_client(server.url).users.list_groups()

    assert not isinstance(caught.value, roster.UserError)
    assert caught.value.attempts == 4
    assert "after 4 attempts: HTTP 502 Bad Gateway" in str(caught.value)


def test_retry_after_seconds_sets_delay(server, make_client, fake_time):
    server.play(Reply(429, headers={"Retry-After": "2"}), Reply(200, USERS))

    make_client(server.url).users.list_users()

    assert fake_time.sleeps == [2.0]


def test_retry_after_http_date_sets_delay(server, make_client, fake_time):
    # HTTP-dates have whole seconds, so the delay is between 2 and 3 s.
    date = formatdate(time.time() + 3, usegmt=True)
    server.play(Reply(503, headers={"Retry-After": date}), Reply(200, USERS))

    make_client(server.url).users.list_users()

    assert len(fake_time.sleeps) == 1
    assert 1.0 < fake_time.sleeps[0] <= 3.0


def test_retry_after_is_capped_by_max_delay(server, make_client, fake_time):
    server.play(Reply(429, headers={"Retry-After": "3600"}), Reply(200, USERS))

    make_client(server.url).users.list_users()

    assert fake_time.sleeps == [5.0]


@pytest.mark.parametrize(
    "value",
    [
        "soon",
        "-5",
        "NaN",
        "1e400",
        "2.5",
        "9" * 5000,
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Mon, 99 Foo 2026 99:99:99 GMT",
    ],
    ids=[
        "word",
        "negative",
        "nan",
        "exponent",
        "fraction",
        "5000-digits",
        "past-date",
        "broken-date",
    ],
)
def test_unusable_retry_after_falls_back_to_backoff(
    server, make_client, fake_time, value
):
    server.play(Reply(429, headers={"Retry-After": value}), Reply(200, USERS))

    make_client(server.url).users.list_users()

    assert fake_time.sleeps == [0.2]


def test_spent_429_keeps_retry_after(server, make_client):
    limited = Reply(429, error("rate_limited", "slow down"), {"Retry-After": "7"})
    server.play(limited, limited)
    client = make_client(server.url, retry=roster.RetryPolicy(max_attempts=2))

    with pytest.raises(roster.UserError) as caught:
        client.users.list_users()

    assert caught.value.status_code == 429
    assert caught.value.code == "rate_limited"
    assert caught.value.retry_after == 7.0
    assert caught.value.attempts == 2


def test_reset_before_response_is_retried(server, make_client):
    server.play(Reset(), Reply(200, USERS))

    assert make_client(server.url).users.list_users() == USERS["items"]
    assert server.count == 2


def test_close_before_response_is_retried(server, make_client):
    server.play(Close(), Reply(200, USERS))

    assert make_client(server.url).users.list_users() == USERS["items"]
    assert server.count == 2


def test_reset_mid_body_is_retried(server, make_client):
    server.play(ResetMidBody(), Reply(200, USERS))

    assert make_client(server.url).users.list_users() == USERS["items"]
    assert server.count == 2


def test_read_timeout_is_retried(server, make_client):
    server.play(Reply(200, USERS, delay=1.0), Reply(200, USERS))
    timeouts = roster.Timeouts(connect=1.0, read=0.2, total=30.0)

    users = make_client(server.url, timeout=timeouts).users.list_users()

    assert users == USERS["items"]
    assert server.count == 2


def test_read_timeouts_spent_raise_user_error(server, make_client):
    server.play(Reply(200, USERS, delay=1.0), Reply(200, USERS, delay=1.0))
    timeouts = roster.Timeouts(connect=1.0, read=0.2, total=30.0)
    retry = roster.RetryPolicy(max_attempts=2, jitter="none")

    with pytest.raises(roster.UserError) as caught:
        make_client(server.url, timeout=timeouts, retry=retry).users.list_users()

    assert caught.value.status_code is None
    assert caught.value.attempts == 2
    assert "timed out waiting for the response" in str(caught.value)
    assert caught.value.__cause__ is not None


def test_refused_connection_is_retried_then_raises(make_client, fake_time):
    client = make_client(f"http://127.0.0.1:{free_port()}", circuit_breaker=None)

    with pytest.raises(roster.UserError) as caught:
        client.users.get_user("u1")

    assert caught.value.attempts == 4
    assert fake_time.sleeps == [0.2, 0.4, 0.8]
    assert "could not connect to the server" in str(caught.value)
    assert not isinstance(caught.value, roster.UserNotFoundError)


def test_404_raises_not_found_without_retry(server, make_client):
    server.play(Reply(404, error("user_not_found", "no user u9", "r-404")))

    with pytest.raises(roster.UserNotFoundError) as caught:
        make_client(server.url).users.get_user("u9")

    assert server.count == 1
    assert caught.value.code == "user_not_found"
    assert caught.value.request_id == "r-404"
    assert caught.value.attempts == 1
    assert str(caught.value) == (
        "Failed to get user u9: HTTP 404 user_not_found: no user u9 (request id r-404)"
    )


def test_group_404_raises_group_not_found(server, make_client):
    server.play(Reply(404, error("group_not_found", "no group g9")))

    with pytest.raises(roster.GroupNotFoundError):
        make_client(server.url).users.get_group("g9")

    assert server.count == 1


@pytest.mark.parametrize("status", [400, 401, 403, 409, 412, 500])
def test_other_error_status_is_not_retried(server, make_client, fake_time, status):
    server.play(Reply(status, error("some_code", "failed")))

    with pytest.raises(roster.UserError) as caught:
        make_client(server.url).users.list_users()

    assert server.count == 1
    assert fake_time.sleeps == []
    assert caught.value.status_code == status


def test_post_without_idempotency_key_is_not_retried(server, make_client):
    server.play(Reset(), Reply(201, {"id": "u1"}))
    client = make_client(server.url)
    call = Call(USER, "create user", "POST", "/api/v2/users", parse_resource, body={})

    with pytest.raises(roster.UserError):
        client.users._engine.send(call)

    assert server.count == 1


def test_post_with_idempotency_key_is_retried(server, make_client):
    server.play(Reset(), Reply(503), Reply(201, {"id": "u1", "email": "a@x.org"}))

    user = make_client(server.url).users.create_user("a@x.org", "A")

    assert user["id"] == "u1"
    assert server.count == 3
    keys = {request.headers["idempotency-key"] for request in server.requests}
    assert len(keys) == 1


def test_patch_without_if_match_is_not_retried(server, make_client):
    server.play(Reply(503), Reply(200, {"id": "u1"}))

    with pytest.raises(roster.UserError):
        make_client(server.url).users.update_user("u1", name="B")

    assert server.count == 1


def test_patch_with_if_match_is_retried(server, make_client):
    server.play(Reply(503), Reply(200, {"id": "u1"}))

    make_client(server.url).users.update_user("u1", name="B", if_match='"v3"')

    assert server.count == 2
    assert server.requests[1].headers["if-match"] == '"v3"'


def test_total_timeout_stops_retries(server, make_client, fake_time):
    server.play(Reply(503), Reply(503), Reply(200, USERS))
    retry = roster.RetryPolicy(max_attempts=5, base_delay=0.5, jitter="none")
    timeouts = roster.Timeouts(total=1.0)

    with pytest.raises(roster.UserError) as caught:
        make_client(server.url, retry=retry, timeout=timeouts).users.list_users()

    assert server.count == 2
    assert fake_time.sleeps == [0.5]
    assert "after 2 attempts (a retry would pass the total timeout of 1 s)" in str(
        caught.value
    )


@pytest.mark.parametrize(
    "retry", [None, roster.RetryPolicy.disabled(), roster.RetryPolicy(max_attempts=1)]
)
def test_disabled_retry_sends_once(server, make_client, fake_time, retry):
    server.play(Reply(503), Reply(200, USERS))

    with pytest.raises(roster.UserError) as caught:
        make_client(server.url, retry=retry).users.list_users()

    assert server.count == 1
    assert fake_time.sleeps == []
    assert caught.value.attempts == 1


def test_full_jitter_delays_stay_within_backoff(server, make_client, fake_time):
    server.play(Reply(503), Reply(503), Reply(503), Reply(200, USERS))
    retry = roster.RetryPolicy(max_attempts=4, base_delay=0.2, jitter="full")

    make_client(server.url, retry=retry).users.list_users()

    assert len(fake_time.sleeps) == 3
    for delay, ceiling in zip(fake_time.sleeps, [0.2, 0.4, 0.8], strict=True):
        assert 0 <= delay <= ceiling


def test_attempts_share_request_id_prefix(server, make_client):
    server.play(Reply(503), Reply(200, USERS))

    make_client(server.url).users.list_users()

    first, second = (request.headers["x-request-id"] for request in server.requests)
    assert first.endswith("-1")
    assert second.endswith("-2")
    assert first[:-2] == second[:-2]


def test_retry_is_logged_at_warning(server, make_client, caplog):
    server.play(Reply(503, error("unavailable", "down", "r-77")), Reply(200, USERS))
    caplog.set_level(logging.DEBUG, logger="roster")

    make_client(server.url).users.list_users()

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "attempt 2 of 4" in message
    assert "in 0.20 s" in message
    assert "HTTP 503 unavailable" in message
    assert "request id" in message


def test_each_request_is_logged_at_debug(server, make_client, caplog):
    server.play(Reply(503), Reply(200, USERS, headers={"X-Request-ID": "srv-5"}))
    caplog.set_level(logging.DEBUG, logger="roster")

    make_client(server.url).users.list_users(limit=5)

    debug = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.DEBUG and r.name.startswith("roster")
    ]
    assert len(debug) == 2
    assert debug[0].startswith("GET /api/v2/users?limit=5&page=1 -> 503 in ")
    assert debug[1].endswith("(attempt 2, request id srv-5)")


def test_api_key_never_appears_in_logs_or_errors(caplog):
    secret = "very-secret-key-Zx81"
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    fake = FakeTime()

    with ScriptedServer() as server:
        server.play(
            Reply(503),
            Reply(200, USERS),
            Reply(401, error("unauthenticated", "unknown key")),
            Reset(),
            Reset(),
        )
        client = roster.Client(
            server.url,
            api_key=secret,
            retry=roster.RetryPolicy(max_attempts=2, jitter="none"),
            sleep=fake.sleep,
            clock=fake.clock,
        )
        texts.append(repr(client))
        texts.append(repr(client.circuit_breaker))
        client.users.list_users()
        for call in (client.users.list_users, client.users.list_users):
            try:
                call()
            except roster.UserError as failure:
                texts += [str(failure), repr(failure), repr(failure.response)]
        client.close()

    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.args) for record in caplog.records]
    assert any("HTTP Request" in text for text in texts)
    assert all(secret not in text for text in texts)
    assert server.requests[0].headers["authorization"] == f"UserKey {secret}"


def test_retried_delete_after_reset_takes_404_as_done(server, make_client):
    server.play(Reset(), Reply(404, error("user_not_found", "user 'u1' not found")))

    result = make_client(server.url).users.delete_user("u1")

    assert result is None
    assert server.count == 2


def test_first_delete_404_is_not_found(server, make_client):
    server.play(Reply(404, error("user_not_found", "user 'u1' not found")))

    with pytest.raises(roster.UserNotFoundError):
        make_client(server.url).users.delete_user("u1")

    assert server.count == 1


def test_retried_patch_412_says_earlier_attempt(server, make_client):
    server.play(Reset(), Reply(412, error("precondition_failed", "user has changed")))

    with pytest.raises(roster.UserError) as caught:
        make_client(server.url).users.update_user("u1", name="B", if_match='"1"')

    assert caught.value.status_code == 412
    assert "an earlier attempt may have applied the change" in str(caught.value)
    assert server.count == 2


@pytest.mark.parametrize("segment", [".", ".."])
def test_dot_segments_are_rejected_before_sending(server, make_client, segment):
    client = make_client(server.url)

    with pytest.raises(roster.GroupArgumentError):
        client.users.remove_member("g1", segment)
    with pytest.raises(roster.UserArgumentError):
        client.users.get_user(segment)

    assert server.count == 0


def test_slash_in_email_is_rejected_before_sending(server, make_client):
    with pytest.raises(roster.UserArgumentError) as caught:
        make_client(server.url).users.get_user(email="a/b@example.org")

    assert "list_users(email=...)" in str(caught.value)
    assert server.count == 0


def test_timestamp_before_year_one_in_utc_is_rejected(server, make_client):
    with pytest.raises(roster.UserArgumentError) as caught:
        make_client(server.url).users.list_users(
            created_since="0001-01-01T00:00:00+05:00"
        )

    assert "created_since" in str(caught.value)
    assert server.count == 0
