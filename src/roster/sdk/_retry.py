"""Retry policy, backoff delays, ``Retry-After`` parsing and retry decisions."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx

from roster.exceptions import InvalidArgumentError

__all__ = [
    "RETRYABLE_STATUSES",
    "Jitter",
    "RetryPolicy",
    "backoff_delay",
    "describe_transport_error",
    "is_idempotent",
    "is_retryable_transport_error",
    "is_server_failure",
    "parse_retry_after",
    "request_was_not_sent",
]

Jitter = Literal["full", "equal", "none"]

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})

# Methods whose repetition has the same effect as one request (RFC 9110 §9.2.2).
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    """Settings for retrying failed requests within one call.

    The delay before retry ``n`` (1 for the first retry) is drawn from
    ``min(max_delay, base_delay * 2 ** (n - 1))`` with the chosen jitter. ``"full"``
    picks uniformly from zero to that value, ``"equal"`` from half of it to all of
    it, and ``"none"`` uses it as is. A valid ``Retry-After`` header replaces the
    drawn delay, cut to ``max_delay``. The ``total`` timeout of the client's
    ``Timeouts`` bounds the whole call, retries and delays included.

    ``RetryPolicy.disabled()``, ``max_attempts=1`` or ``retry=None`` on the client
    turn retries off.

    Attributes:
        max_attempts: maximum number of requests per call, the first included.
        base_delay: seconds of the first backoff delay before jitter.
        max_delay: maximum seconds of any one delay, ``Retry-After`` included.
        jitter: ``"full"``, ``"equal"`` or ``"none"``.
        retry_statuses: HTTP statuses that are retried.
    """

    max_attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    jitter: Jitter = "full"
    retry_statuses: frozenset[int] = field(default=RETRYABLE_STATUSES)

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise InvalidArgumentError(
                "RetryPolicy.max_attempts must be an integer of 1 or more, "
                f"got {self.max_attempts!r}"
            )
        for name in ("base_delay", "max_delay"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value < math.inf:
                raise InvalidArgumentError(
                    f"RetryPolicy.{name} must be a finite number of seconds of 0 or "
                    f"more, got {value!r}"
                )
        if self.jitter not in ("full", "equal", "none"):
            raise InvalidArgumentError(
                "RetryPolicy.jitter must be 'full', 'equal' or 'none', "
                f"got {self.jitter!r}"
            )
        statuses = frozenset(self.retry_statuses)
        if not all(isinstance(s, int) and 400 <= s <= 599 for s in statuses):
            raise InvalidArgumentError(
                "RetryPolicy.retry_statuses must contain HTTP statuses from 400 to "
                f"599, got {sorted(statuses)!r}"
            )
        object.__setattr__(self, "retry_statuses", statuses)

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """Return a policy that sends each request once."""
        return cls(max_attempts=1)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def backoff_delay(
    policy: RetryPolicy,
    retry_number: int,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Return the backoff delay in seconds before retry ``retry_number`` (from 1)."""
    # Cap the exponent so that a large retry_number cannot overflow the float.
    exponent = min(retry_number - 1, 64)
    ceiling = min(policy.max_delay, policy.base_delay * 2.0**exponent)

    if policy.jitter == "full":
        return uniform(0.0, ceiling)
    if policy.jitter == "equal":
        return uniform(ceiling / 2, ceiling)
    return ceiling


def parse_retry_after(
    value: str | None, wall_clock: Callable[[], float] = time.time
) -> float | None:
    """Return the seconds of delay that a ``Retry-After`` header value requests.

    RFC 9110 §10.2.3 allows delay-seconds (digits only) or an HTTP-date. The date
    is converted with its own zone (GMT), so the local time zone plays no part.
    Returns None for a missing, malformed, negative or non-numeric value and for a
    date in the past, so that the caller falls back to its own backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None

    if text.isascii() and text.isdigit():
        try:
            return float(int(text))
        except (ValueError, OverflowError):
            # More digits than int() or float() accept.
            return None

    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        # The asctime form and a "-0000" zone carry no offset, and RFC 9110
        # §5.6.7 defines every HTTP-date as GMT.
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp() - wall_clock()
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def is_idempotent(method: str, headers: Mapping[str, str]) -> bool:
    """Tell whether sending the request twice has the effect of sending it once.

    GET, HEAD, OPTIONS, PUT and DELETE are idempotent. A POST is when it carries an
    ``Idempotency-Key`` header, because the server then responds to a repeat with
    the first result. A PATCH is when it carries ``If-Match``, because a repeat
    after a successful first attempt then fails with 412 instead of overwriting a
    change that another client made in between.
    """
    names = {name.lower() for name in headers}
    if method in _IDEMPOTENT_METHODS:
        return True
    if method == "POST":
        return "idempotency-key" in names
    if method == "PATCH":
        return "if-match" in names
    return False


def request_was_not_sent(error: httpx.HTTPError) -> bool:
    """Tell whether the request certainly never reached the server.

    Then a retry is safe for any method.
    """
    return isinstance(
        error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
    )


def is_retryable_transport_error(error: httpx.HTTPError) -> bool:
    """Tell whether a transport error is worth a retry of an idempotent request."""
    return isinstance(
        error, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError
    )


def is_server_failure(error: httpx.HTTPError) -> bool:
    """Tell whether a transport error counts as a failure of the server.

    A pool timeout is excluded because it comes from this client's own busy
    connection pool.
    """
    if isinstance(error, httpx.PoolTimeout):
        return False
    return is_retryable_transport_error(error)


def describe_transport_error(error: httpx.HTTPError) -> str:
    """Describe a transport error in words, with its class and message."""
    detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if isinstance(error, httpx.ConnectTimeout):
        summary = "timed out connecting to the server"
    elif isinstance(error, httpx.ConnectError):
        summary = "could not connect to the server"
    elif isinstance(error, httpx.PoolTimeout):
        summary = "timed out waiting for a free connection in the client's pool"
    elif isinstance(error, httpx.ReadTimeout):
        summary = "timed out waiting for the response"
    elif isinstance(error, httpx.WriteTimeout):
        summary = "timed out sending the request"
    elif isinstance(error, httpx.ReadError | httpx.RemoteProtocolError):
        summary = "the connection was closed or reset before the full response arrived"
    elif isinstance(error, httpx.WriteError):
        summary = "the connection failed while sending the request"
    else:
        summary = "the request failed"
    return f"{summary} ({detail})"
