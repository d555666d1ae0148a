"""The OpenAPI document, adjusted to what the server really sends.

FastAPI describes every operation with a 422 validation error, which Roster never
sends: parameters are parsed by hand and bad input is a 400 in the shape of
``errors.py``. This module replaces the 422s with the error statuses each kind of
operation can return and declares the API-key header as the security scheme.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "properties": {
                "code": {"type": "string", "examples": ["invalid_parameter"]},
                "message": {"type": "string"},
                "request_id": {"type": "string"},
            },
        }
    },
}

_DESCRIPTIONS = {
    "400": "Invalid parameter or body (`invalid_parameter`, `invalid_body`)",
    "401": "Missing, malformed, unknown or revoked API key (`unauthenticated`)",
    "403": "The key's role does not allow this (`forbidden`)",
    "404": "No such resource in the key's organisation",
    "409": "The write conflicts with the directory (a duplicate, a cycle, ...)",
    "412": "`If-Match` does not match the current `ETag`",
    "413": "The request body is over 1 MiB",
    "503": "The database is unavailable or busy; retry after `Retry-After`",
}

_WRITE_STATUSES = ("400", "401", "403", "404", "409", "412", "413", "503")
_READ_STATUSES = ("400", "401", "404", "503")


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the adjusted document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        components = document.setdefault("components", {})
        components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        components["securitySchemes"] = {
            "apiKey": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`UserKey <key>` or `Bearer <key>`",
            }
        }
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                _adjust(path, method, operation)
        # The validation schemas were only referenced by the 422s.
        for name in ("HTTPValidationError", "ValidationError"):
            components["schemas"].pop(name, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _adjust(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    if not path.startswith("/api/"):
        return
    operation["security"] = [{"apiKey": []}]
    statuses = _READ_STATUSES if method == "get" else _WRITE_STATUSES
    for status in statuses:
        responses.setdefault(
            status,
            {
                "description": _DESCRIPTIONS[status],
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"}
                    }
                },
            },
        )
