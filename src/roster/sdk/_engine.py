"""Sending a call: attempts, retries, circuit breaker and logging.

``CallRun`` makes every decision of one call and does no I/O, so the sync and async
engines share it and differ only in how they send and sleep.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from roster.exceptions import RosterError
from roster.sdk._breaker import CircuitBreaker, CircuitRejected
from roster.sdk._call import (
    Call,
    ResponseShapeError,
    error_from_rejection,
    error_from_response,
    error_from_shape,
    error_from_transport,
)
from roster.sdk._config import Timeouts
from roster.sdk._retry import (
    RetryPolicy,
    backoff_delay,
    describe_transport_error,
    is_idempotent,
    is_retryable_transport_error,
    is_server_failure,
    parse_retry_after,
    request_was_not_sent,
)

__all__ = ["AsyncEngine", "EngineSettings", "SyncEngine"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class EngineSettings:
    """Settings that every call of one client shares."""

    timeouts: Timeouts
    retry: RetryPolicy
    breaker: CircuitBreaker | None
    clock: Callable[[], float]


@dataclass(frozen=True)
class _Done(Generic[T]):
    value: T


@dataclass(frozen=True)
class _Wait:
    delay: float


class CallRun(Generic[T]):
    """State and decisions of one call across its attempts."""

    def __init__(self, call: Call[T], settings: EngineSettings) -> None:
        self.call = call
        self.settings = settings
        self.attempts = 0
        self.last_error: RosterError | None = None
        # One id per call and a suffix per attempt, so that the server's log
        # groups the attempts of one call.
        self._call_id = uuid.uuid4().hex
        self._started = settings.clock()
        self._deadline = self._started + settings.timeouts.total
        self._attempt_started = self._started
        self._idempotent = is_idempotent(call.method, call.headers)
        # Set once an attempt failed after its request may have reached the
        # server, so that a later attempt can meet the effect of an earlier one.
        self._maybe_applied = False

    @property
    def request_id(self) -> str:
        """The ``X-Request-ID`` of the current attempt."""
        return f"{self._call_id}-{self.attempts}"

    def begin_attempt(self) -> bool:
        """Ask the breaker for an attempt and return True when it is the trial.

        Raises the call's CircuitOpenError subclass when the breaker rejects it.
        """
        breaker = self.settings.breaker
        trial = False
        if breaker is not None:
            try:
                trial = breaker.acquire()
            except CircuitRejected as rejected:
                raise error_from_rejection(
                    self.call,
                    rejected.reason,
                    rejected.retry_after,
                    self.attempts,
                    self.last_error,
                ) from self.last_error
        self.attempts += 1
        self._attempt_started = self.settings.clock()
        return trial

    def build_request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """Build the current attempt's request, its timeouts cut to the deadline."""
        call = self.call
        remaining = self._deadline - self.settings.clock()
        return http.build_request(
            call.method,
            call.path,
            params=dict(call.params) if call.params else None,
            json=call.body,
            headers={**call.headers, "X-Request-ID": self.request_id},
            timeout=self.settings.timeouts.for_attempt(remaining),
        )

    def on_response(self, response: httpx.Response, trial: bool) -> _Done[T] | _Wait:
        """Handle a response: return the parsed value or a delay, or raise."""
        call = self.call
        status = response.status_code
        request_id = response.headers.get("x-request-id", self.request_id)
        logger.debug(
            "%s %s -> %d in %.3f s (attempt %d, request id %s)",
            call.method,
            _target(response.request),
            status,
            self.settings.clock() - self._attempt_started,
            self.attempts,
            request_id,
        )
        self._record(trial, failed=status >= 500)

        if 200 <= status < 300:
            try:
                return _Done(call.parse(response))
            except ResponseShapeError as problem:
                raise error_from_shape(
                    call, response, problem, self.attempts
                ) from problem

        if self._maybe_applied and call.method == "DELETE" and status == 404:
            # An earlier attempt deleted the resource and lost its response. The
            # resource is gone, which is what the caller asked for.
            logger.warning(
                "%s %s returned 404 after an earlier attempt may have succeeded; "
                "taking it as deleted (request id %s)",
                call.method,
                call.path,
                request_id,
            )
            return _Done(call.parse(response))

        if status not in self.settings.retry.retry_statuses or not self._idempotent:
            stop_reason = None
            if self._maybe_applied and status in (409, 412):
                stop_reason = "an earlier attempt may have applied the change"
            raise error_from_response(call, response, self.attempts, stop_reason)

        retry_after = parse_retry_after(response.headers.get("retry-after"))
        delay, stop_reason = self._plan_retry(retry_after)
        error = error_from_response(call, response, self.attempts, stop_reason)
        if delay is None:
            raise error
        self._log_retry(
            delay, f"HTTP {status}" + (f" {error.code}" if error.code else "")
        )
        self.last_error = error
        # A proxy's 502 or 504 may come after the server applied the request.
        self._maybe_applied = self._maybe_applied or status in (502, 504)
        return _Wait(delay)

    def on_transport_error(self, error: httpx.HTTPError, trial: bool) -> _Wait:
        """Handle a request that got no response: return a delay, or raise."""
        call = self.call
        request_id = self.request_id
        logger.debug(
            "%s %s failed in %.3f s: %s (attempt %d, request id %s)",
            call.method,
            _target(error.request) if _has_request(error) else call.path,
            self.settings.clock() - self._attempt_started,
            type(error).__name__,
            self.attempts,
            request_id,
        )
        if is_server_failure(error):
            self._record(trial, failed=True)
        else:
            self.abandon(trial)

        retryable = is_retryable_transport_error(error) and (
            self._idempotent or request_was_not_sent(error)
        )
        if not retryable:
            raise error_from_transport(
                call, error, self.attempts, request_id
            ) from error

        delay, stop_reason = self._plan_retry(None)
        failure = error_from_transport(
            call, error, self.attempts, request_id, stop_reason
        )
        if delay is None:
            raise failure from error
        self._log_retry(delay, describe_transport_error(error))
        self.last_error = failure
        if not request_was_not_sent(error):
            self._maybe_applied = True
        return _Wait(delay)

    def abandon(self, trial: bool) -> None:
        """End the current attempt without an outcome for the breaker."""
        if self.settings.breaker is not None:
            self.settings.breaker.release(trial)

    def _record(self, trial: bool, failed: bool) -> None:
        if self.settings.breaker is not None:
            self.settings.breaker.record(trial, failed)

    def _plan_retry(self, retry_after: float | None) -> tuple[float | None, str | None]:
        """Return the delay before the next attempt, or None and why the call stops.

        The reason is None when the attempts are spent, because the message already
        gives their count.
        """
        policy = self.settings.retry
        if self.attempts >= policy.max_attempts:
            return None, None

        if retry_after is not None:
            delay = min(retry_after, policy.max_delay)
        else:
            delay = backoff_delay(policy, self.attempts)

        remaining = self._deadline - self.settings.clock()
        if delay >= remaining:
            total = self.settings.timeouts.total
            return None, f"a retry would pass the total timeout of {total:g} s"
        return delay, None

    def _log_retry(self, delay: float, reason: str) -> None:
        logger.warning(
            "Retrying %s %s in %.2f s (attempt %d of %d) after %s (request id %s)",
            self.call.method,
            self.call.path,
            delay,
            self.attempts + 1,
            self.settings.retry.max_attempts,
            reason,
            self.request_id,
        )


def _has_request(error: httpx.HTTPError) -> bool:
    try:
        error.request  # noqa: B018 (the property raises when no request is set)
    except RuntimeError:
        return False
    return True


def _target(request: httpx.Request) -> str:
    """Return the path and query of a request, for logs."""
    return request.url.raw_path.decode("ascii", errors="replace")


def _cursor_was_rejected(call: Call[Any], error: RosterError) -> bool:
    """Tell whether the server rejected the ``cursor`` that the call sent.

    The SDK sends a cursor only with the filters, sort, limit and page that it
    belongs to, so a rejection comes from the server's side. The call is then
    repeated once without the cursor, and the server pages by offset.
    """
    return (
        "cursor" in call.params
        and error.status_code == 400
        and error.code == "invalid_parameter"
        and "cursor" in error.message.lower()
    )


def _log_cursor_fallback(call: Call[Any], error: RosterError) -> None:
    logger.warning(
        "The server rejected the cursor of %s %s; repeating the request without it "
        "(request id %s)",
        call.method,
        call.path,
        error.request_id,
    )


class SyncEngine:
    """Sends calls with a blocking ``httpx.Client``."""

    def __init__(
        self,
        http: httpx.Client,
        settings: EngineSettings,
        sleep: Callable[[float], object],
    ) -> None:
        self.http = http
        self.settings = settings
        self.sleep = sleep

    def send(self, call: Call[T]) -> T:
        """Send the call, retrying as the policy allows, and return its parsed value.

        Raises the call's exception family on failure.
        """
        try:
            return self._send(call)
        except RosterError as error:
            if not _cursor_was_rejected(call, error):
                raise
            _log_cursor_fallback(call, error)
        return self._send(call.without_cursor())

    def _send(self, call: Call[T]) -> T:
        run = CallRun(call, self.settings)
        while True:
            trial = run.begin_attempt()
            try:
                request = run.build_request(self.http)
                response = self.http.send(request)
            except httpx.HTTPError as error:
                step: _Done[T] | _Wait = run.on_transport_error(error, trial)
            except BaseException:
                run.abandon(trial)
                raise
            else:
                step = run.on_response(response, trial)

            if isinstance(step, _Done):
                return step.value
            self.sleep(step.delay)


class AsyncEngine:
    """Sends calls with an ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: EngineSettings,
        sleep: Callable[[float], Awaitable[object]],
    ) -> None:
        self.http = http
        self.settings = settings
        self.sleep = sleep

    async def send(self, call: Call[T]) -> T:
        """Send the call, retrying as the policy allows, and return its parsed value.

        Raises the call's exception family on failure.
        """
        try:
            return await self._send(call)
        except RosterError as error:
            if not _cursor_was_rejected(call, error):
                raise
            _log_cursor_fallback(call, error)
        return await self._send(call.without_cursor())

    async def _send(self, call: Call[T]) -> T:
        run = CallRun(call, self.settings)
        while True:
            trial = run.begin_attempt()
            try:
                request = run.build_request(self.http)
                response = await self.http.send(request)
            except httpx.HTTPError as error:
                step: _Done[T] | _Wait = run.on_transport_error(error, trial)
            except BaseException:
                # Includes asyncio.CancelledError: a cancelled trial must free the
                # breaker's single trial slot.
                run.abandon(trial)
                raise
            else:
                step = run.on_response(response, trial)

            if isinstance(step, _Done):
                return step.value
            await self.sleep(step.delay)
