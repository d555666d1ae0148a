"""Numbered pages without the quadratic cost of OFFSET.

A client that walks ``page=1, 2, 3, ...`` with plain ``LIMIT/OFFSET`` makes the
database skip ``(page - 1) * limit`` rows on every request, so a whole walk costs
O(n²). Roster keeps page numbers but seeks instead of skipping:

* Each page's response carries a cursor: the sort key of its last row. A client that
  sends it back with the next page number gets the rows after that key (a keyset
  seek on an index), which is also what keeps a walk from skipping or repeating
  rows while others write.
* For clients that send only page numbers, the server remembers the last key of the
  pages it served, together with the organisation's version. The next page seeks
  from that key while the version is unchanged, which gives exactly the rows that
  OFFSET would. After a write the remembered keys no longer apply, and the page is
  found from the nearest one that does, or by OFFSET.
* Total counts are remembered the same way, so a walk counts once, not per page.

The memory is a bounded LRU per process; losing it costs speed, never correctness.
Its keys contain a SHA-256 digest of the listing's scope instead of the scope
itself, so an entry's size does not grow with the length of a filter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, literal, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

T = TypeVar("T")

#: Types of the values a sort key may hold, for decoding cursors.
KeyDecoder = Callable[[Any], Any]


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class SortKey:
    """An ordering of a listing: its columns, the last of which must be unique."""

    name: str
    columns: tuple[InstrumentedAttribute[Any], ...]
    decoders: tuple[KeyDecoder, ...]
    descending: bool = False


@dataclass
class Page(Generic[T]):
    rows: list[T]
    total: int
    page: int
    limit: int
    has_more: bool
    next_cursor: str | None


def decode_uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(str(value))


def decode_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    # No stored key contains NUL, which PostgreSQL rejects in a query, or a lone
    # surrogate, which the drivers cannot encode; only a forged cursor can.
    if "\x00" in value:
        raise ValueError("string key contains NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("string key contains a lone surrogate") from error
    return value


def decode_datetime(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError("timestamp without offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as error:
        raise ValueError(f"timestamp {value!r} has no UTC equivalent") from error


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


#: A memory key: the kind of entry ("anchor" or "count"), the SHA-256 digest of
#: the listing's scope (``scope_digest``) and a page number (0 for counts).
MemoryKey = tuple[str, bytes, int]


class PageMemory:
    """A bounded, thread-safe LRU of page boundaries and total counts.

    Entries are tagged with the organisation's version when they were computed and
    are used only while that version is current. Keys have a fixed size, and the
    values are one sort key or one count, so ``max_entries`` bounds the memory.
    """

    def __init__(self, max_entries: int = 20_000) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[MemoryKey, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def stored_keys(self) -> list[MemoryKey]:
        """Return the keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def get(self, key: MemoryKey, version: int) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: MemoryKey, version: int, value: Any) -> None:
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


#: How many earlier pages to look back for a remembered boundary before falling
#: back to a plain OFFSET from the start.
ANCHOR_LOOKBACK = 64


def scope_digest(scope: Sequence[Any]) -> bytes:
    """Return the SHA-256 digest (32 bytes) of a listing's scope."""
    raw = json.dumps([_encode_value(part) for part in scope], sort_keys=True)
    return hashlib.sha256(raw.encode()).digest()


def encode_cursor(scope_id: str, page: int, key: Sequence[Any]) -> str:
    raw = json.dumps([scope_id, page, [_encode_value(v) for v in key]])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str, scope_id: str, page: int, sort: SortKey
) -> tuple[Any, ...]:
    """Return the sort key a cursor holds, checking it belongs to this request.

    ``page`` is the page the cursor is used for, which must follow the page that
    issued it.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        issued_scope, issued_page, values = json.loads(
            base64.urlsafe_b64decode(padded.encode())
        )
        if not isinstance(issued_scope, str) or type(issued_page) is not int:
            raise ValueError("cursor fields have the wrong types")
        if not isinstance(values, list):
            raise ValueError("cursor contains no list of sort values")
        key = tuple(
            decode(value) for decode, value in zip(sort.decoders, values, strict=True)
        )
    except (ValueError, TypeError, RecursionError, binascii.Error) as error:
        raise InvalidCursor(
            "cursor is malformed; send the next_cursor of the previous page"
        ) from error
    if issued_scope != scope_id:
        raise InvalidCursor(
            "cursor belongs to a listing with other filters, sort or limit; "
            "send it only with the parameters of the page that returned it"
        )
    if issued_page != page - 1:
        raise InvalidCursor(
            f"cursor was issued by page {issued_page}, so it can only fetch page "
            f"{issued_page + 1}, not page {page}"
        )
    return key


def fetch_page(
    session: Session,
    query: Select[T],
    *,
    sort: SortKey,
    limit: int,
    page: int,
    cursor: str | None,
    scope: tuple[Any, ...],
    version: int,
    memory: PageMemory,
) -> Page[T]:
    """Run one page of ``query`` (already filtered, not yet ordered).

    ``scope`` identifies the listing (organisation, resource, filters); the sort
    and limit are added to it here. ``version`` is the organisation's version read
    in the same snapshot as the query.
    """
    page_scope = (*scope, sort.name, limit)
    page_digest = scope_digest(page_scope)
    # Cursors carry a short form of the digest, which is enough to tell a cursor
    # of another listing.
    scope_id = page_digest.hex()[:16]
    columns = sort.columns
    ordered_columns = [c.desc() if sort.descending else c.asc() for c in columns]

    def after(key: tuple[Any, ...]) -> Any:
        # Bind each value with its column's type, so that timestamps and UUIDs are
        # stored and compared in the column's form on SQLite too.
        pairs = zip(columns, key, strict=True)
        values = tuple_(*(literal(value, column.type) for column, value in pairs))
        if sort.descending:
            return tuple_(*columns) < values
        return tuple_(*columns) > values

    seek_key: tuple[Any, ...] | None = None
    skip = (page - 1) * limit
    if cursor is not None:
        seek_key = decode_cursor(cursor, scope_id, page, sort)
        skip = 0
    elif page > 1:
        for earlier in range(page - 1, max(page - 1 - ANCHOR_LOOKBACK, 0), -1):
            remembered = memory.get(("anchor", page_digest, earlier), version)
            if remembered is not None:
                seek_key = remembered
                skip = (page - 1 - earlier) * limit
                break

    statement = query
    if seek_key is not None:
        statement = statement.where(after(seek_key))
    # Fetching one row more than the page shows whether another page follows.
    statement = statement.order_by(*ordered_columns).limit(limit + 1)
    if skip:
        statement = statement.offset(skip)
    rows = list(session.scalars(statement))
    has_more = len(rows) > limit
    rows = rows[:limit]

    next_cursor = None
    if rows:
        last_key = tuple(getattr(rows[-1], c.key) for c in columns)
        if cursor is None:
            memory.put(("anchor", page_digest, page), version, last_key)
        # The last page gets a cursor too, because the reference's loop requests
        # one page past the end. With the cursor that request seeks instead of
        # running an OFFSET over the whole listing.
        next_cursor = encode_cursor(scope_id, page, last_key)

    count_key: MemoryKey = ("count", scope_digest(scope), 0)
    total = memory.get(count_key, version)
    if total is None:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        memory.put(count_key, version, total)
    return Page(
        rows=rows,
        total=int(total or 0),
        page=page,
        limit=limit,
        has_more=has_more,
        next_cursor=next_cursor,
    )
