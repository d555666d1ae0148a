"""Description of one SDK call, and the exceptions that its failures become.

Every status, transport error and malformed body turns into an exception here, in
one place, so that sync and async clients raise the same classes and messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import httpx

from roster.exceptions import (
    CircuitOpenError,
    GroupArgumentError,
    GroupCircuitOpenError,
    GroupError,
    GroupNotFoundError,
    InvalidArgumentError,
    RosterError,
    UserArgumentError,
    UserCircuitOpenError,
    UserError,
    UserNotFoundError,
)
from roster.sdk._config import API_KEY_ENV
from roster.sdk._retry import describe_transport_error, parse_retry_after

__all__ = [
    "FEED",
    "GROUP",
    "USER",
    "Call",
    "Family",
    "ResponseShapeError",
    "error_from_rejection",
    "error_from_response",
    "error_from_shape",
    "error_from_transport",
    "read_json",
]

T = TypeVar("T")

# Maximum length of a server message or body excerpt in an exception message.
_MAX_DETAIL = 500


@dataclass(frozen=True)
class Family:
    """Exception classes of one kind of call: user, group or change feed."""

    error: type[RosterError]
    not_found: type[RosterError]
    invalid_argument: type[InvalidArgumentError]
    circuit_open: type[CircuitOpenError]


USER = Family(UserError, UserNotFoundError, UserArgumentError, UserCircuitOpenError)
GROUP = Family(
    GroupError, GroupNotFoundError, GroupArgumentError, GroupCircuitOpenError
)
FEED = Family(RosterError, RosterError, InvalidArgumentError, CircuitOpenError)


class ResponseShapeError(Exception):
    """A successful response whose body is not what the endpoint returns."""


@dataclass(frozen=True)
class Call(Generic[T]):
    """One logical call: the request to send and how to read a successful response.

    Attributes:
        family: exception classes that failures of the call raise.
        action: what the call does, in words, for messages ("list users").
        method: HTTP method.
        path: path under the base URL, with segments already percent-encoded.
        parse: reads a 2xx response; raises ResponseShapeError on a body of the
            wrong shape.
        params: query parameters.
        body: JSON body, or None for none.
        headers: extra request headers.
    """

    family: Family
    action: str
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def without_cursor(self) -> Call[T]:
        """Return the same call without its ``cursor`` query parameter."""
        params = {k: v for k, v in self.params.items() if k != "cursor"}
        return replace(self, params=params)


def read_json(response: httpx.Response) -> Any:
    """Decode the JSON body of a response, or raise ResponseShapeError."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as error:
        excerpt = _excerpt(response.text) if response.content else "an empty body"
        raise ResponseShapeError(f"the body is not JSON ({excerpt!s})") from error


def error_from_response(
    call: Call[Any],
    response: httpx.Response,
    attempts: int,
    stop_reason: str | None = None,
) -> RosterError:
    """Build the exception for an HTTP error status."""
    code, server_message, body_request_id = _error_body(response)
    request_id = body_request_id or response.headers.get("x-request-id")

    detail = f"HTTP {response.status_code}"
    if code:
        detail += f" {code}"
    elif response.reason_phrase:
        detail += f" {response.reason_phrase}"
    if server_message:
        detail += f": {server_message}"

    message = _message(call, attempts, stop_reason, detail, request_id)
    if response.status_code == 401:
        message += f". Check the API key passed as api_key= or set in {API_KEY_ENV}"
    elif response.status_code == 403:
        message += ". The API key lacks the role that this call needs"

    retry_after = None
    if response.status_code in (429, 503):
        retry_after = parse_retry_after(response.headers.get("retry-after"))

    cls = call.family.not_found if response.status_code == 404 else call.family.error
    return cls(
        message,
        status_code=response.status_code,
        code=code,
        request_id=request_id,
        response=response,
        attempts=attempts,
        retry_after=retry_after,
    )


def error_from_transport(
    call: Call[Any],
    error: httpx.HTTPError,
    attempts: int,
    request_id: str,
    stop_reason: str | None = None,
) -> RosterError:
    """Build the exception for a request that got no response."""
    detail = describe_transport_error(error)
    message = _message(call, attempts, stop_reason, detail, request_id)
    return call.family.error(message, request_id=request_id, attempts=attempts)


def error_from_shape(
    call: Call[Any],
    response: httpx.Response,
    problem: ResponseShapeError,
    attempts: int,
) -> RosterError:
    """Build the exception for a successful status with a malformed body."""
    detail = f"HTTP {response.status_code} with an unexpected body: {problem}"
    request_id = response.headers.get("x-request-id")
    message = _message(call, attempts, None, detail, request_id)
    return call.family.error(
        message,
        status_code=response.status_code,
        request_id=request_id,
        response=response,
        attempts=attempts,
    )


def error_from_rejection(
    call: Call[Any],
    reason: str,
    retry_after: float | None,
    attempts: int,
    last_error: RosterError | None,
) -> CircuitOpenError:
    """Build the exception for a call that the circuit breaker rejected."""
    detail = reason
    if last_error is not None:
        # The last error's message starts with the same "Failed to <action>";
        # keep only what follows it.
        prefix = f"Failed to {call.action}"
        last = last_error.message
        if last.startswith(prefix):
            last = last.partition(": ")[2] or last
        detail += f"; the last attempt failed with: {last}"
    message = _message(call, attempts, None, detail, None)
    return call.family.circuit_open(
        message,
        status_code=last_error.status_code if last_error else None,
        code=last_error.code if last_error else None,
        request_id=last_error.request_id if last_error else None,
        response=last_error.response if last_error else None,
        attempts=attempts,
        retry_after=retry_after,
    )


def _message(
    call: Call[Any],
    attempts: int,
    stop_reason: str | None,
    detail: str,
    request_id: str | None,
) -> str:
    message = f"Failed to {call.action}"
    if attempts > 1:
        message += f" after {attempts} attempts"
    if stop_reason:
        message += f" ({stop_reason})"
    message += f": {detail}"
    if request_id:
        message += f" (request id {request_id})"
    return message


def _error_body(response: httpx.Response) -> tuple[str | None, str | None, str | None]:
    """Return the code, message and request id of an error body.

    A body that is not Roster's error object yields an excerpt of its text as the
    message, so that a proxy's HTML error page still shows in the exception.
    """
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        data = None

    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message")
        request_id = error.get("request_id")
        return (
            _excerpt(code) if isinstance(code, str) and code else None,
            _excerpt(message) if isinstance(message, str) and message else None,
            request_id if isinstance(request_id, str) and request_id else None,
        )

    text = response.text if response.content else ""
    return None, _excerpt(text) if text.strip() else None, None


def _excerpt(text: str) -> str:
    """Collapse whitespace and cut the text to a length fit for a message."""
    flat = " ".join(text.split())
    if len(flat) > _MAX_DETAIL:
        return flat[: _MAX_DETAIL - 3] + "..."
    return flat
