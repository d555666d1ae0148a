"""Retry-After parsing, backoff delays and idempotency rules, without a server."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from email.utils import formatdate

import httpx
import pytest

from roster import RetryPolicy
from roster.sdk._retry import (
    backoff_delay,
    is_idempotent,
    is_server_failure,
    parse_retry_after,
    request_was_not_sent,
)

# 1994-11-06 08:49:37 UTC, the date of the examples in RFC 9110 §5.6.7.
EXAMPLE_TIME = 784111777.0


def fixed_clock(offset: float = 0.0):
    return lambda: EXAMPLE_TIME + offset


@pytest.fixture(params=[("EAST-14", -14 * 3600), ("WEST+11", 11 * 3600), ("UTC0", 0)])
def local_zone(request) -> Iterator[str]:
    """Set the local time zone to UTC+14, UTC-11 or UTC with POSIX TZ strings.

    POSIX strings need no time zone database, and the offset check proves that the
    zone took effect.
    """
    zone, seconds_west = request.param
    saved = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    assert time.timezone == seconds_west
    yield zone
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_delay_seconds_are_parsed():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ],
    ids=["imf-fixdate", "rfc850", "asctime"],
)
def test_http_date_forms_are_read_as_gmt(local_zone, value):
    seconds = parse_retry_after(value, wall_clock=fixed_clock(-30.0))

    assert seconds == pytest.approx(30.0)


def test_http_date_of_now_plus_ten_seconds(local_zone):
    now = time.time()
    header = formatdate(now + 10, usegmt=True)

    seconds = parse_retry_after(header, wall_clock=lambda: now)

    assert seconds is not None
    assert 9.0 < seconds <= 10.0


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "soon",
        "-1",
        "+5",
        "1.5",
        "NaN",
        "inf",
        "1e3",
        "٣",
        "9" * 5000,
        "Sun, 06 Nov 1994 08:49:36 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
    ],
    ids=[
        "missing",
        "empty",
        "word",
        "negative",
        "plus-sign",
        "fraction",
        "nan",
        "inf",
        "exponent",
        "arabic-digit",
        "5000-digits",
        "past-date",
        "day-32",
        "hour-25",
    ],
)
def test_unusable_values_return_none(value):
    assert parse_retry_after(value, wall_clock=fixed_clock()) is None


def test_huge_delay_is_parsed_for_caller_to_cap():
    assert parse_retry_after("99999999999") == 99999999999.0


def test_backoff_without_jitter_doubles_up_to_cap():
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, jitter="none")

    delays = [backoff_delay(policy, n) for n in range(1, 6)]

    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_survives_huge_retry_number():
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, jitter="none")

    assert backoff_delay(policy, 10_000) == 3.0


def test_full_jitter_draws_from_zero_to_ceiling():
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0, jitter="full")
    bounds: list[tuple[float, float]] = []

    backoff_delay(policy, 3, uniform=lambda low, high: bounds.append((low, high)) or 0)

    assert bounds == [(0.0, 4.0)]


def test_equal_jitter_draws_from_half_to_ceiling():
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0, jitter="equal")
    bounds: list[tuple[float, float]] = []

    backoff_delay(policy, 3, uniform=lambda low, high: bounds.append((low, high)) or 0)

    assert bounds == [(2.0, 4.0)]


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("GET", {}, True),
        ("PUT", {}, True),
        ("DELETE", {}, True),
        ("POST", {}, False),
        ("POST", {"Idempotency-Key": "k"}, True),
        ("PATCH", {}, False),
        ("PATCH", {"If-Match": '"v1"'}, True),
        ("PATCH", {"idempotency-key": "k"}, False),
    ],
)
def test_idempotency_rules(method, headers, expected):
    assert is_idempotent(method, headers) is expected


def test_connect_errors_mean_request_not_sent():
    request = httpx.Request("POST", "http://127.0.0.1/")

    assert request_was_not_sent(httpx.ConnectError("refused", request=request))
    assert request_was_not_sent(httpx.ConnectTimeout("slow", request=request))
    assert not request_was_not_sent(httpx.ReadError("reset", request=request))
    assert not request_was_not_sent(httpx.ReadTimeout("slow", request=request))


def test_pool_timeout_is_not_server_failure():
    request = httpx.Request("GET", "http://127.0.0.1/")

    assert not is_server_failure(httpx.PoolTimeout("busy", request=request))
    assert is_server_failure(httpx.ReadTimeout("slow", request=request))
    assert is_server_failure(httpx.RemoteProtocolError("gone", request=request))
