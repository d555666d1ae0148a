"""Paged responses: parsing, cursor chaining between calls, and walking all pages."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from roster.sdk._call import Call, ResponseShapeError, read_json

__all__ = [
    "CursorCache",
    "Page",
    "PageWalk",
    "Resource",
    "parse_group_array",
    "parse_object",
    "parse_page",
    "parse_resource",
    "query_key",
]

QueryKey = tuple[str, tuple[tuple[str, str], ...]]


class Resource(dict[str, Any]):
    """A user, group or membership as returned by the server: a plain dict.

    Attributes:
        etag: the response's ``ETag`` header, to pass as ``if_match`` to an update,
            or None when the server sent none.
    """

    etag: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a paged listing."""

    items: list[dict[str, Any]]
    has_more: bool | None
    next_cursor: str | None
    raw: dict[str, Any]


def parse_page(response: httpx.Response) -> Page:
    """Read a paged response: an object with an ``items`` array.

    A bare array is read as a single last page, as older servers of the users
    service send for ``GET /api/v2/users``.
    """
    data = read_json(response)
    if isinstance(data, list):
        return Page(_check_items(data), False, None, {"items": data})
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ResponseShapeError(
            f"expected an object with an 'items' array, got {_kind(data)}"
        )

    has_more = data.get("has_more")
    cursor = data.get("next_cursor")
    return Page(
        items=_check_items(data["items"]),
        has_more=has_more if isinstance(has_more, bool) else None,
        next_cursor=cursor if isinstance(cursor, str) and cursor else None,
        raw=data,
    )


def parse_group_array(response: httpx.Response) -> list[dict[str, Any]]:
    """Read ``GET /api/v1/manage/groups``: an array, or an object with ``groups``."""
    data = read_json(response)
    if isinstance(data, dict) and isinstance(data.get("groups"), list):
        data = data["groups"]
    if not isinstance(data, list):
        raise ResponseShapeError(f"expected an array of groups, got {_kind(data)}")
    return _check_items(data)


def parse_object(response: httpx.Response) -> dict[str, Any]:
    """Read a response whose body is one JSON object."""
    data = read_json(response)
    if not isinstance(data, dict):
        raise ResponseShapeError(f"expected a JSON object, got {_kind(data)}")
    return data


def parse_resource(response: httpx.Response) -> Resource:
    """Read one user, group or membership, keeping its ``ETag``.

    An empty body, as in a 204, gives an empty Resource.
    """
    resource = Resource() if not response.content else Resource(parse_object(response))
    resource.etag = response.headers.get("etag")
    return resource


def _check_items(items: list[Any]) -> list[dict[str, Any]]:
    for item in items:
        if not isinstance(item, dict):
            raise ResponseShapeError(
                f"expected objects in the array, got {_kind(item)}"
            )
    return items


def _kind(value: object) -> str:
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        type(None): "null",
    }
    return names.get(type(value), f"a {type(value).__name__}")


def query_key(path: str, params: Mapping[str, str]) -> QueryKey:
    """Return what identifies a listing apart from its page: path, filters, limit."""
    fields = tuple(
        sorted((k, v) for k, v in params.items() if k not in ("page", "cursor"))
    )
    return path, fields


class CursorCache:
    """The ``next_cursor`` of the last page fetched, for each of the latest queries.

    ``list_users(limit, page)`` sends the cursor of page ``p`` with a request for
    page ``p + 1`` of the same query. A loop over page numbers then gets the rows
    that follow the ones it has seen, even while other clients insert or delete
    rows. Only the ``capacity`` most recently used queries are kept, so memory stays
    bounded however many queries a client sends.
    """

    def __init__(self, capacity: int = 32) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[QueryKey, tuple[int, str]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def cursor_for(self, key: QueryKey, page: int) -> str | None:
        """Return the cursor that leads to ``page`` of the query, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] + 1 != page:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def remember(self, key: QueryKey, page: int, next_cursor: str | None) -> None:
        """Store the cursor after ``page`` of the query, replacing the previous one."""
        with self._lock:
            if next_cursor is None:
                self._entries.pop(key, None)
                return
            self._entries[key] = (page, next_cursor)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)


class PageWalk:
    """Position of a walk over every page of a listing, shared by sync and async.

    The walk follows ``next_cursor`` from page to page and stops after the page
    whose ``has_more`` is false. When the server sends no ``has_more``, it stops
    after a page shorter than the limit. It also stops at an empty page, so that
    a server that keeps saying ``has_more`` cannot make it loop forever.
    """

    def __init__(
        self,
        make_call: Callable[[Mapping[str, str]], Call[Page]],
        params: Mapping[str, str],
        limit: int,
    ) -> None:
        self._make_call = make_call
        self._params = dict(params)
        self._limit = limit
        self._page = 1
        self._cursor: str | None = None
        self._done = False

    def next_call(self) -> Call[Page] | None:
        """Return the call for the next page, or None when the walk is over."""
        if self._done:
            return None
        params = {**self._params, "limit": str(self._limit), "page": str(self._page)}
        if self._cursor is not None:
            params["cursor"] = self._cursor
        return self._make_call(params)

    def advance(self, page: Page) -> None:
        """Move past a page that ``next_call``'s call returned."""
        if page.has_more is None:
            more = len(page.items) >= self._limit
        else:
            more = page.has_more
        self._done = not more or not page.items
        self._page += 1
        self._cursor = page.next_cursor
