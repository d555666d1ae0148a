"""The JSON shapes of users, groups and changes, shared by the API and the feed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from roster.store.models import Change, Group, User


def timestamp(value: datetime) -> str:
    """Format a timestamp as RFC 3339 in UTC with a ``Z`` suffix."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def user_view(user: User, group_ids: list[uuid.UUID] | None = None) -> dict[str, Any]:
    user_id = str(user.id)
    view: dict[str, Any] = {
        "id": user_id,
        "uuid": user_id,
        "_id": user_id,
        "email": user.email,
        "name": user.name,
        "status": user.status,
        "user_status": user.status,
        "image": user.image,
        "created_at": timestamp(user.created_at),
        "updated_at": timestamp(user.updated_at),
    }
    if group_ids is not None:
        view["groups"] = [str(g) for g in group_ids]
    return view


def group_view(group: Group, member_count: int | None = None) -> dict[str, Any]:
    group_id = str(group.id)
    view: dict[str, Any] = {
        "id": group_id,
        "uuid": group_id,
        "name": group.name,
        "description": group.description,
        "system": group.system,
        "parent_id": str(group.parent_id) if group.parent_id else None,
        "created_at": timestamp(group.created_at),
        "updated_at": timestamp(group.updated_at),
    }
    if member_count is not None:
        view["member_count"] = member_count
    return view


def change_view(change: Change) -> dict[str, Any]:
    return {
        "seq": change.seq,
        "type": change.type,
        "resource_type": change.resource_type,
        "resource_id": str(change.resource_id),
        "data": change.data,
        "actor": change.actor,
        "occurred_at": timestamp(change.occurred_at),
    }


def etag(version: int) -> str:
    return f'"{version}"'
