"""The change feed and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from roster.server import params
from roster.server.auth import Reader
from roster.server.errors import ApiError
from roster.server.state import AppState, get_state
from roster.store.changes import list_audit, list_changes
from roster.store.views import change_view

router = APIRouter(prefix="/api/v2", tags=["changes"])
State = Annotated[AppState, Depends(get_state)]


@router.get("/changes", summary="List the changes made after a cursor, oldest first")
def changes(
    caller: Reader,
    state: State,
    after: Annotated[
        str | None, Query(description="next_cursor of the last call")
    ] = None,
    limit: Annotated[str | None, Query(description="1 to 1000; default 100")] = None,
) -> dict[str, Any]:
    after_seq = params.parse_int(
        "after", after, default=0, low=0, high=9_223_372_036_854_775_807
    )
    limit_value = params.parse_limit(limit)
    with state.db.read() as session:
        rows, has_more = list_changes(
            session, caller.org_id, after=after_seq, limit=limit_value
        )
    next_cursor = str(rows[-1].seq) if rows else str(after_seq)
    items = [change_view(c) for c in rows]
    if not caller.can_write:
        # The feed serves read-only mirrors, which need only the change. Which key
        # made it belongs to the audit log, and reader keys may not read that.
        for item in items:
            del item["actor"]
    return {
        "items": items,
        "next_cursor": next_cursor,
        "has_more": has_more,
    }


@router.get("/audit", summary="List who changed what, newest first (admin keys)")
def audit(
    caller: Reader,
    state: State,
    limit: Annotated[str | None, Query()] = None,
    page: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    if not caller.can_write:
        raise ApiError(
            403,
            "forbidden",
            f"API key {caller.key_name!r} is a reader key; the audit log needs an "
            "admin key",
        )
    limit_value = params.parse_limit(limit)
    page_value = params.parse_page(page)
    with state.db.read() as session:
        rows, total = list_audit(
            session, caller.org_id, limit=limit_value, page=page_value
        )
    items = [
        {
            "seq": c.seq,
            "action": c.type,
            "resource_type": c.resource_type,
            "resource_id": str(c.resource_id),
            "actor": c.actor,
            "occurred_at": change_view(c)["occurred_at"],
            "data": c.data,
        }
        for c in rows
    ]
    return {
        "items": items,
        "total": total,
        "page": page_value,
        "limit": limit_value,
        "pages": -(-total // limit_value),
        "has_more": page_value * limit_value < total,
        "next_cursor": None,
    }
