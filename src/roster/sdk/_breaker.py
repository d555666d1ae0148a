"""Circuit breaker that stops calls to a server that keeps failing."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from roster.exceptions import InvalidArgumentError

__all__ = ["BreakerState", "CircuitBreaker", "CircuitBreakerPolicy", "CircuitRejected"]

logger = logging.getLogger(__name__)

BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class CircuitBreakerPolicy:
    """Settings of a client's circuit breaker.

    Attributes:
        failure_threshold: consecutive failed attempts that open the circuit. A
            refused or reset connection, a timeout and an HTTP 5xx are failures.
            Any other response, 4xx included, proves that the server is up and
            resets the count.
        recovery_timeout: seconds that an open circuit rejects calls before it lets
            one trial request through.
    """

    failure_threshold: int = 5
    recovery_timeout: float = 30.0

    def __post_init__(self) -> None:
        threshold = self.failure_threshold
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int)
            or threshold < 1
        ):
            raise InvalidArgumentError(
                "CircuitBreakerPolicy.failure_threshold must be an integer of 1 or "
                f"more, got {threshold!r}"
            )
        timeout = self.recovery_timeout
        valid = isinstance(timeout, int | float) and not isinstance(timeout, bool)
        if not valid or not 0 <= timeout < math.inf:
            raise InvalidArgumentError(
                "CircuitBreakerPolicy.recovery_timeout must be a finite number of "
                f"seconds of 0 or more, got {timeout!r}"
            )


class CircuitRejected(Exception):
    """The breaker rejected an attempt. The engine turns it into a CircuitOpenError."""

    def __init__(self, reason: str, retry_after: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class CircuitBreaker:
    """Circuit breaker shared by every call of one client, and so of one server.

    Closed, it lets every attempt through and counts consecutive failures. At
    ``failure_threshold`` it opens and rejects attempts for ``recovery_timeout``
    seconds. The first attempt after that turns it half-open and is the only trial
    request: other attempts are rejected until the trial ends. A successful trial
    closes the circuit, and a failed one opens it with a fresh timer. Rejected
    attempts never move the timer.

    Every method takes a ``threading.Lock`` only for a few assignments and never
    across I/O or an ``await``, so one breaker serves threads and asyncio tasks.
    """

    def __init__(
        self, policy: CircuitBreakerPolicy, name: str, clock: Callable[[], float]
    ) -> None:
        self.policy = policy
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name} state={self._state!r}>"

    @property
    def state(self) -> BreakerState:
        """Current state: ``"closed"``, ``"open"`` or ``"half_open"``.

        An open circuit whose recovery timeout has passed stays ``"open"`` until the
        next attempt turns it half-open.
        """
        return self._state

    @property
    def failure_count(self) -> int:
        """Consecutive failed attempts counted since the last success."""
        return self._failures

    def acquire(self) -> bool:
        """Let an attempt through and return True when it is the trial request.

        Raises CircuitRejected when the circuit is open or a trial is in flight.
        """
        with self._lock:
            if self._state == "closed":
                return False

            if self._state == "half_open":
                raise CircuitRejected(
                    f"the circuit breaker for {self.name} is half-open and its trial "
                    "request is still in flight",
                    None,
                )

            waited = self._clock() - self._opened_at
            if waited < self.policy.recovery_timeout:
                left = self.policy.recovery_timeout - waited
                raise CircuitRejected(
                    f"the circuit breaker for {self.name} is open after "
                    f"{self._failures} consecutive failures and lets a trial request "
                    f"through in {left:.1f} s",
                    left,
                )

            self._set_state("half_open", "the recovery timeout has passed")
            self._trial_in_flight = True
            return True

    def record(self, trial: bool, failed: bool) -> None:
        """Record the outcome of an attempt that ``acquire`` let through."""
        with self._lock:
            if trial:
                self._trial_in_flight = False
                if failed:
                    self._opened_at = self._clock()
                    self._set_state("open", "the trial request failed")
                else:
                    self._failures = 0
                    self._set_state("closed", "the trial request succeeded")
                return

            # Attempts that started before the circuit opened and end after it do
            # not change it: only the trial request decides.
            if self._state != "closed":
                return
            if not failed:
                self._failures = 0
                return
            self._failures += 1
            if self._failures >= self.policy.failure_threshold:
                self._opened_at = self._clock()
                self._set_state("open", f"{self._failures} consecutive failed attempts")

    def release(self, trial: bool) -> None:
        """End an attempt that has no outcome, such as a cancelled one.

        A cancelled trial returns the circuit to open with its old timer, so the
        next attempt becomes the trial at once.
        """
        with self._lock:
            if trial and self._trial_in_flight:
                self._trial_in_flight = False
                self._set_state("open", "the trial request was abandoned")

    def _set_state(self, state: BreakerState, reason: str) -> None:
        if state == self._state:
            return
        logger.warning(
            "Circuit breaker for %s changed from %s to %s: %s",
            self.name,
            self._state,
            state,
            reason,
        )
        self._state = state
