"""Parsing of query parameters, with errors that name the parameter and its range.

FastAPI's own validation would also reject ``limit=abc``, but its messages are
generic and it cannot read the literal ``None`` that the earlier Python client
sends for ``limit=None``, so paging and filter parameters arrive as strings and are
parsed here.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import UTC, datetime

from fastapi import Request

from roster.server.errors import invalid_parameter
from roster.store.validation import is_encodable

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


def parse_text(name: str, raw: str | None, *, max_length: int) -> str | None:
    """Return a text filter, or None when it is absent or empty.

    Control characters and lone surrogates are rejected: no stored name or email
    contains one, PostgreSQL cannot compare text that contains NUL, and the
    drivers cannot encode surrogates. A value longer than ``max_length`` (the
    maximum length of the field it filters) can match nothing, so it is rejected
    too.
    """
    if raw is None or raw == "":
        return None
    if len(raw) > max_length:
        raise invalid_parameter(
            f"{name} is {len(raw)} characters long; the maximum is {max_length}"
        )
    if not is_encodable(raw):
        raise invalid_parameter(
            f"{name} contains a lone surrogate, which is not valid Unicode text"
        )
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


# If-Match = "*" / #entity-tag (RFC 9110 section 13.1.1), and
# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (section 8.8.3). An etagc is any
# visible character but DQUOTE, or obs-text, which is U+0080 to U+00FF because
# header values arrive decoded as Latin-1. List elements are separated by commas
# with optional whitespace, and may be empty (section 5.6.1). One match of this
# pattern is one element and the comma after it, or the end of the value.
_IF_MATCH_ELEMENT = re.compile(
    r'[ \t]*(?:(W/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(,|\Z)'
)
_ETAG_VERSION = re.compile(r"[0-9]{1,18}")


def parse_if_match(values: list[str]) -> frozenset[int] | None:
    """Return the versions that satisfy the ``If-Match`` header lines ``values``.

    None means no condition: the header is absent or ``*``, which any existing
    resource matches. Otherwise a resource matches when its version is in the
    returned set, which may be empty. RFC 9110 section 13.1.1 requires the strong
    comparison, so a weak tag (``W/"3"``) matches nothing, and neither does a tag
    that Roster never sends. A value that is not a list of quoted entity tags,
    such as ``3`` without quotes, is a 400.
    """
    if not values:
        return None
    raw = ", ".join(values)
    if raw.strip() == "*":
        return None
    versions: set[int] = set()
    position = 0
    while True:
        match = _IF_MATCH_ELEMENT.match(raw, position)
        if match is None:
            raise invalid_parameter(
                "If-Match must be * or a list of quoted ETags returned by Roster, "
                f'such as "3"; got {raw!r}'
            )
        weak, tag, separator = match.groups()
        if weak is None and tag is not None and _ETAG_VERSION.fullmatch(tag):
            versions.add(int(tag))
        position = match.end()
        if separator == "":
            return frozenset(versions)


def reject_repeated_parameters(request: Request) -> None:
    """Reject a query string that names a parameter more than once.

    Every parameter of the API takes one value, so a repeated one is a client's
    mistake; taking either value silently would hide it.
    """
    counts = Counter(name for name, _value in request.query_params.multi_items())
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if repeated:
        raise invalid_parameter(
            f"{repeated[0]} is given {counts[repeated[0]]} times; every query "
            "parameter takes one value, so send it once"
        )
