"""Parsing of query parameters, with errors that name the parameter and its range.

FastAPI's own validation would also reject ``limit=abc``, but its messages are
generic and it cannot read the literal ``None`` that the earlier Python client
sends for ``limit=None``, so paging and filter parameters arrive as strings and are
parsed here.
"""

from __future__ import annotations

from datetime import datetime

from roster.server.errors import invalid_parameter

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: Pages beyond this are rejected; at the maximum limit it is ten billion rows.
MAX_PAGE = 10_000_000


def parse_int(name: str, raw: str | None, *, default: int, low: int, high: int) -> int:
    if raw is None or raw == "" or (name == "limit" and raw == "None"):
        return default
    text = raw.strip()
    if not (text.isascii() and text.lstrip("+-").isdigit()) or len(text) > 20:
        raise invalid_parameter(
            f"{name} must be a whole number from {low} to {high}, got {raw!r}"
        )
    value = int(text)
    if not low <= value <= high:
        raise invalid_parameter(
            f"{name} must be a whole number from {low} to {high}, got {raw!r}"
        )
    return value


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


def parse_timestamp(name: str, raw: str | None) -> datetime | None:
    """Parse an RFC 3339 timestamp; one without an offset is rejected."""
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise invalid_parameter(
            f"{name} must be an RFC 3339 timestamp with an offset, such as "
            f"2026-01-31T09:00:00Z; got {raw!r}"
        )
    return value


def parse_choice(name: str, raw: str | None, choices: tuple[str, ...]) -> str | None:
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise invalid_parameter(
            f"{name} must be one of {', '.join(choices)}; got {raw!r}"
        )
    return raw


def parse_if_match(raw: str | None) -> int | None:
    """Return the version an ``If-Match`` header requires, or None for any.

    Roster's ETags are the resource's version in quotes; weak forms (``W/``) and
    ``*`` are accepted as RFC 9110 section 13.1.1 allows.
    """
    if raw is None or raw.strip() == "*":
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise invalid_parameter(
            f'If-Match must be an ETag returned by Roster, such as "3"; got {raw!r}'
        )
    return int(tag)
