"""One JSON shape for every error, mapped from exceptions in one place.

``{"error": {"code": ..., "message": ..., "request_id": ...}}``. A 4xx is logged in
one line; a 5xx is logged once with its traceback, which never reaches the client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from roster.server.context import request_id_var
from roster.store.errors import (
    Conflict,
    InvalidValue,
    NotFound,
    PreconditionFailed,
    StoreError,
)
from roster.store.failures import FailureKind, classify

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def invalid_parameter(message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", message)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    request_id = request_id_var.get()
    # A message may quote client text, such as an unknown field name, that
    # contains a lone surrogate. UTF-8 cannot encode one, so it is sent as \udXXX.
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    body = {"error": {"code": code, "message": message, "request_id": request_id}}
    return JSONResponse(body, status_code=status, headers=headers)


_STORE_STATUS: list[tuple[type[StoreError], int]] = [
    (InvalidValue, 400),
    (NotFound, 404),
    (Conflict, 409),
    (PreconditionFailed, 412),
]


def _log_client_error(request: Request, status: int, code: str, message: str) -> None:
    log.info(
        "%s %s -> %d %s: %s (request id %s)",
        request.method,
        request.url.path,
        status,
        code,
        message,
        request_id_var.get(),
    )


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    _log_client_error(request, error.status, error.code, error.message)
    return error_response(error.status, error.code, error.message, error.headers)


async def _store_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StoreError)
    status = next((s for cls, s in _STORE_STATUS if isinstance(error, cls)), None)
    if status is None:
        log.error(
            "unmapped store error on %s %s (request id %s)",
            request.method,
            request.url.path,
            request_id_var.get(),
            exc_info=error,
        )
        return error_response(
            500, "internal_error", "internal error; see the server log"
        )
    _log_client_error(request, status, error.code, error.message)
    return error_response(status, error.code, error.message)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = []
    code = "invalid_parameter"
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ())]
        if location and location[0] == "body":
            code = "invalid_body"
        where = ".".join(location[1:]) or "body"
        problems.append(f"{where}: {item.get('msg', 'invalid')}")
    message = "; ".join(problems) or "invalid request"
    _log_client_error(request, 400, code, message)
    return error_response(400, code, message)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}
    code = codes.get(error.status_code, "http_error")
    message = str(error.detail)
    headers: dict[str, Any] | None = getattr(error, "headers", None)
    if error.status_code == 404:
        message = f"no endpoint {request.method} {request.url.path}; see /openapi.json"
    elif error.status_code == 405:
        allowed = (headers or {}).get("Allow", "")
        message = (
            f"method {request.method} is not allowed on {request.url.path}; "
            f"use {allowed or 'another method'}"
        )
    _log_client_error(request, error.status_code, code, message)
    return error_response(error.status_code, code, message, headers)


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    """Map a lock or pool timeout to 503 ``busy``, a lost database or an
    unmigrated schema to 503 ``unavailable``, and any other database error to
    500.

    The response carries none of the error's text, and the engines hide bound
    parameters, so no row data reaches the log or the client.
    """
    failure = classify(error)
    if failure is not None and failure.kind is FailureKind.BUSY:
        # Expected under write contention, so a warning without a traceback.
        log.warning(
            "database busy on %s %s (request id %s): %s",
            request.method,
            request.url.path,
            request_id_var.get(),
            failure.message,
        )
        return error_response(503, "busy", failure.message, {"Retry-After": "1"})
    log.error(
        "database error on %s %s (request id %s)",
        request.method,
        request.url.path,
        request_id_var.get(),
        exc_info=error,
    )
    if failure is None:
        return error_response(
            500, "internal_error", "internal error; see the server log"
        )
    headers = {"Retry-After": "1"} if failure.kind is FailureKind.UNAVAILABLE else {}
    return error_response(503, "unavailable", failure.message, headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StoreError, _store_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _database_error)
