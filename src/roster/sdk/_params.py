"""Validation of call arguments, before any request is sent."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import NoReturn, TypeGuard
from urllib.parse import quote

from roster.sdk._call import Family

__all__ = [
    "DEFAULT_LIMIT",
    "GROUP_SORT_FIELDS",
    "MAX_LIMIT",
    "OUTPUT_FORMATS",
    "ROLES",
    "USER_SORT_FIELDS",
    "USER_STATUSES",
    "Arguments",
]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
OUTPUT_FORMATS = ("json", "text")
USER_STATUSES = ("active", "invited", "deactivated")
USER_SORT_FIELDS = ("email", "name", "created_at", "updated_at")
GROUP_SORT_FIELDS = ("name", "created_at", "updated_at")
ROLES = ("member", "maintainer")


class Arguments:
    """Validators for the arguments of one call.

    Each raises the call family's InvalidArgumentError subclass with a message that
    names the argument, its allowed values and the value given.
    """

    def __init__(self, family: Family, action: str) -> None:
        self.family = family
        self.action = action

    def fail(self, message: str) -> NoReturn:
        """Raise the family's InvalidArgumentError for this call."""
        raise self.family.invalid_argument(f"Failed to {self.action}: {message}")

    def limit(self, value: object, name: str = "limit") -> int:
        """Return a page size from 1 to 1000. None means the default of 100."""
        if value is None:
            return DEFAULT_LIMIT
        if not _is_int(value) or not 1 <= value <= MAX_LIMIT:
            self.fail(
                f"{name} must be an integer from 1 to {MAX_LIMIT}, or None for the "
                f"default of {DEFAULT_LIMIT}, got {value!r}"
            )
        return value

    def page(self, value: object) -> int:
        """Return a page number of 1 or more."""
        if not _is_int(value) or value < 1:
            self.fail(f"page must be an integer of 1 or more, got {value!r}")
        return value

    def output_format(self, value: object) -> str:
        """Return ``"json"`` or ``"text"``."""
        if value not in OUTPUT_FORMATS:
            self.fail(f"output_format must be 'json' or 'text', got {value!r}")
        return str(value)

    def choice(self, name: str, value: object, allowed: Collection[str]) -> str | None:
        """Return one of ``allowed``, or None."""
        if value is None:
            return None
        if not isinstance(value, str) or value not in allowed:
            self.fail(f"{name} must be one of {_listing(allowed)}, got {value!r}")
        return value

    def sort(self, value: object, fields: Collection[str]) -> str | None:
        """Return a sort key: a field, optionally prefixed with ``-`` for descending."""
        if value is None:
            return None
        if not isinstance(value, str) or value.removeprefix("-") not in fields:
            self.fail(
                f"sort must be one of {_listing(fields)}, each optionally prefixed "
                f"with '-' for descending order, got {value!r}"
            )
        return value

    def text(self, name: str, value: object) -> str | None:
        """Return a non-empty str, or None."""
        if value is None:
            return None
        return self.required_text(name, value)

    def required_text(self, name: str, value: object) -> str:
        """Return a non-empty str."""
        if not isinstance(value, str) or not value:
            self.fail(f"{name} must be a non-empty str, got {value!r}")
        return value

    def flag(self, name: str, value: object) -> bool | None:
        """Return a bool, or None."""
        if value is not None and not isinstance(value, bool):
            self.fail(f"{name} must be True, False or None, got {value!r}")
        return value

    def timestamp(self, name: str, value: object) -> str | None:
        """Return an RFC 3339 timestamp in UTC, or None.

        Takes a datetime with a time zone or an RFC 3339 str. A naive datetime is
        rejected because its zone would be a guess.
        """
        if value is None:
            return None
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                self.fail(
                    f"{name} must be an RFC 3339 timestamp such as "
                    f"'2026-01-31T09:00:00Z', got {value!r}"
                )
        elif isinstance(value, datetime):
            moment = value
        else:
            self.fail(
                f"{name} must be a datetime or an RFC 3339 str, "
                f"got {type(value).__name__}"
            )
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.fail(
                f"{name} must have a time zone, such as 'Z' or '+02:00', got {value!r}"
            )
        try:
            in_utc = moment.astimezone(UTC)
        except OverflowError:
            # Such as 0001-01-01T00:00:00+05:00, which is before year 1 in UTC.
            self.fail(f"{name} is out of the range of UTC timestamps: {value!r}")
        return in_utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def identifier(self, name: str, value: object) -> str:
        """Return an id, name or email as one percent-encoded path segment."""
        if isinstance(value, uuid.UUID):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{name} must be a non-empty str or UUID, got {value!r}")
        # httpx removes "." and ".." segments (RFC 3986 section 5.2.4), which
        # would send the request to the parent resource, and the server decodes
        # "%2F" before routing, so neither can name a single resource.
        if value in (".", ".."):
            self.fail(f"{name} cannot be {value!r}")
        if "/" in value:
            self.fail(
                f"{name} {value!r} contains '/', which cannot be sent as one URL "
                "path segment; look it up with a filter instead, such as "
                "list_users(email=...)"
            )
        return quote(value, safe="")

    def header_value(self, name: str, value: object) -> str | None:
        """Return a value that an HTTP header can carry, or None."""
        if value is None:
            return None
        if (
            not isinstance(value, str)
            or not value
            or not value.isascii()
            or not value.isprintable()
        ):
            self.fail(
                f"{name} must be a non-empty str of printable ASCII, got {value!r}"
            )
        return value


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _listing(values: Collection[str]) -> str:
    return ", ".join(repr(v) for v in values)
