"""Errors the store raises; the server maps each to one HTTP status."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's errors. ``code`` is the API's error code."""

    code = "store_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidValue(StoreError):
    """A value is malformed or out of its limits; ``field`` names it."""

    code = "invalid_body"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(StoreError):
    code = "not_found"


class Conflict(StoreError):
    """The write contradicts the directory's state (a duplicate, a cycle...)."""

    code = "conflict"


class PreconditionFailed(StoreError):
    code = "precondition_failed"
