"""Parsing of query parameters, with errors that name the parameter and its range.

FastAPI's own validation would also reject ``limit=abc``, but its messages are
generic and it cannot read the literal ``None`` that the earlier Python client
sends for ``limit=None``, so paging and filter parameters arrive as strings and are
parsed here.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from roster.server.errors import invalid_parameter

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: Pages beyond this are rejected; at the maximum limit it is ten billion rows.
MAX_PAGE = 10_000_000


_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,20}")


def parse_int(name: str, raw: str | None, *, default: int, low: int, high: int) -> int:
    """Parse a whole number in ``low..high``; an absent parameter gets ``default``.

    An empty value is rejected like any other malformed one, because a client that
    sends ``limit=`` has lost a value it meant to send.
    """
    if raw is None or (name == "limit" and raw == "None"):
        return default
    text = raw.strip()
    if not _WHOLE_NUMBER.fullmatch(text) or not low <= int(text) <= high:
        raise invalid_parameter(
            f"{name} must be a whole number from {low} to {high}, got {raw!r}"
        )
    return int(text)


def parse_limit(raw: str | None) -> int:
    return parse_int("limit", raw, default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)


def parse_page(raw: str | None) -> int:
    return parse_int("page", raw, default=1, low=1, high=MAX_PAGE)


def parse_bool(name: str, raw: str | None) -> bool | None:
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise invalid_parameter(f"{name} must be true or false, got {raw!r}")


_RFC3339 = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?"
    r"([Zz]|[+ -][0-9]{2}:[0-9]{2})"
)


def parse_timestamp(name: str, raw: str | None) -> datetime | None:
    """Parse an RFC 3339 timestamp (section 5.6) and return it in UTC.

    A space may stand for the ``+`` of the offset, because an unencoded ``+`` in
    a query string decodes to a space. Fractions beyond microseconds are cut.
    Timestamps without an offset are rejected, and so are those that have no UTC
    equivalent (such as 9999-12-31T23:59:59-01:00).
    """
    if raw is None or raw == "":
        return None
    match = _RFC3339.fullmatch(raw)
    try:
        if match is None:
            raise ValueError("not an RFC 3339 timestamp")
        date, time, fraction, offset = match.groups()
        if offset in ("Z", "z"):
            offset = "+00:00"
        elif offset.startswith(" "):
            offset = "+" + offset[1:]
        value = datetime.fromisoformat(f"{date}T{time}{(fraction or '')[:7]}{offset}")
        return value.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise invalid_parameter(
            f"{name} must be an RFC 3339 timestamp with an offset, such as "
            f"2026-01-31T09:00:00Z; got {raw!r}"
        ) from error


def parse_text(name: str, raw: str | None) -> str | None:
    """Return a text filter, or None when it is absent or empty.

    Control characters are rejected: no stored name or email contains one, and
    PostgreSQL cannot compare text that contains NUL.
    """
    if raw is None or raw == "":
        return None
    if any(unicodedata.category(char) == "Cc" for char in raw):
        raise invalid_parameter(
            f"{name} must not contain control characters, got {raw!r}"
        )
    return raw


def parse_choice(name: str, raw: str | None, choices: tuple[str, ...]) -> str | None:
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise invalid_parameter(
            f"{name} must be one of {', '.join(choices)}; got {raw!r}"
        )
    return raw


_ETAG_VERSION = re.compile(r"[0-9]{1,20}")


def parse_if_match(raw: str | None) -> int | None:
    """Return the version an ``If-Match`` header requires, or None for any.

    Roster's ETags are the resource's version in quotes; weak forms (``W/``) and
    ``*`` are accepted as RFC 9110 section 13.1.1 allows.
    """
    if raw is None or raw.strip() == "*":
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    if not _ETAG_VERSION.fullmatch(tag):
        raise invalid_parameter(
            f'If-Match must be an ETag returned by Roster, such as "3"; got {raw!r}'
        )
    return int(tag)
