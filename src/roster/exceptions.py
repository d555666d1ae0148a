"""Exceptions raised by the Roster SDK.

Every failure of a call raises one exception from this tree::

    RosterError
    ├── UserError                  a user call failed
    │   ├── UserNotFoundError      HTTP 404 from a user call
    │   ├── UserArgumentError      invalid argument, raised before any request
    │   └── UserCircuitOpenError   the circuit breaker rejected a user call
    ├── GroupError                 a group or membership call failed
    │   ├── GroupNotFoundError     HTTP 404 from a group or membership call
    │   ├── GroupArgumentError     invalid argument, raised before any request
    │   └── GroupCircuitOpenError  the circuit breaker rejected a group call
    ├── InvalidArgumentError       also a ValueError; base of the *ArgumentError classes
    └── CircuitOpenError           base of the *CircuitOpenError classes

The methods of ``client.users`` whose names contain ``user`` are user calls and raise
only ``UserError`` and its subclasses. The other methods of ``client.users`` are group
and membership calls and raise only ``GroupError`` and its subclasses. So
``except UserError`` around a user call catches every failure, including refused
connections, timeouts, malformed responses and an open circuit. Calls of the change
feed and the audit log raise ``RosterError`` itself, ``InvalidArgumentError`` or
``CircuitOpenError``. A missing API key or base URL raises ``InvalidArgumentError``
when the client is constructed.

The server's error body ``{"error": {"code", "message", "request_id"}}`` fills the
attributes ``code`` and ``request_id``. An HTTP 401 has ``code == "unauthenticated"``
and ``status_code == 401``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CircuitOpenError",
    "GroupArgumentError",
    "GroupCircuitOpenError",
    "GroupError",
    "GroupNotFoundError",
    "InvalidArgumentError",
    "RosterError",
    "UserArgumentError",
    "UserCircuitOpenError",
    "UserError",
    "UserNotFoundError",
]


class RosterError(Exception):
    """Base class of every exception that the Roster SDK raises.

    Attributes:
        message: the full message, which is also ``str(error)``.
        status_code: the HTTP status of the last response, or None when no response
            arrived (refused connection, timeout, open circuit, invalid argument).
        code: the server's error code, such as ``"user_not_found"``, or None.
        request_id: the request id from the error body or the ``X-Request-ID``
            header. For a request that got no response it is the id that the SDK
            sent, which the server logs if the request reached it.
        response: the last ``httpx.Response``, or None.
        attempts: how many HTTP requests the call sent, 0 when none was sent.
        retry_after: seconds to wait before the next request, or None. It comes
            from the ``Retry-After`` header of a 429 or 503, or is the time left
            until an open circuit lets a trial request through.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        response: httpx.Response | None = None,
        attempts: int = 0,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.response = response
        self.attempts = attempts
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(RosterError, ValueError):
    """An argument or setting is invalid. Raised before any request is sent."""


class CircuitOpenError(RosterError):
    """The client's circuit breaker rejected the call without sending a request.

    The breaker is open after consecutive failures, or half-open with its single
    trial request still in flight. ``retry_after`` is the seconds until the breaker
    lets a trial request through, or None when a trial is in flight.
    """


class UserError(RosterError):
    """A user call failed."""


class UserNotFoundError(UserError):
    """A user call got HTTP 404: the user does not exist in the key's organisation."""


class UserArgumentError(UserError, InvalidArgumentError):
    """A user call got an invalid argument. No request was sent."""


class UserCircuitOpenError(UserError, CircuitOpenError):
    """The circuit breaker rejected a user call. No request was sent."""


class GroupError(RosterError):
    """A group or membership call failed."""


class GroupNotFoundError(GroupError):
    """A group or membership call got HTTP 404.

    ``code`` names what was missing: ``group_not_found``, ``user_not_found`` (the
    user of a membership call) or ``membership_not_found``.
    """


class GroupArgumentError(GroupError, InvalidArgumentError):
    """A group or membership call got an invalid argument. No request was sent."""


class GroupCircuitOpenError(GroupError, CircuitOpenError):
    """The circuit breaker rejected a group or membership call. No request was sent."""
