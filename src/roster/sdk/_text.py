"""Tab-separated text tables of users and groups, for ``output_format="text"``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["format_groups", "format_users"]

USER_COLUMNS = ("EMAIL", "NAME", "UUID", "STATUS", "GROUPS")
GROUP_COLUMNS = ("NAME", "UUID", "DESCRIPTION", "TYPE")


def format_users(users: Iterable[Mapping[str, Any]]) -> str:
    """Format users as a table sorted by email, or ``No users found.``.

    STATUS is ``user_status``, or ``status`` when that is missing. GROUPS counts the
    user's direct groups: ``none``, ``1 group`` or ``N groups``.
    """
    rows = sorted(
        users, key=lambda user: (_cell(user.get("email")).casefold(), _uuid(user))
    )
    if not rows:
        return "No users found."

    lines = ["\t".join(USER_COLUMNS)]
    for user in rows:
        status = user.get("user_status") or user.get("status")
        cells = (
            _cell(user.get("email")),
            _cell(user.get("name")),
            _uuid(user),
            _cell(status),
            _group_count(user.get("groups")),
        )
        lines.append("\t".join(cells))
    return "\n".join(lines)


def format_groups(groups: Iterable[Mapping[str, Any]]) -> str:
    """Format groups as a table, system groups first, then by name.

    TYPE is ``System`` or ``Custom``. Returns ``No groups found.`` for no groups.
    """
    rows = sorted(
        groups,
        key=lambda group: (
            not group.get("system"),
            _cell(group.get("name")).casefold(),
            _uuid(group),
        ),
    )
    if not rows:
        return "No groups found."

    lines = ["\t".join(GROUP_COLUMNS)]
    for group in rows:
        cells = (
            _cell(group.get("name")),
            _uuid(group),
            _cell(group.get("description")),
            "System" if group.get("system") else "Custom",
        )
        lines.append("\t".join(cells))
    return "\n".join(lines)


def _uuid(record: Mapping[str, Any]) -> str:
    for field in ("uuid", "id", "_id"):
        value = record.get(field)
        if value:
            return _cell(value)
    return ""


def _group_count(groups: object) -> str:
    count = len(groups) if isinstance(groups, list) else 0
    if count == 0:
        return "none"
    if count == 1:
        return "1 group"
    return f"{count} groups"


def _cell(value: object) -> str:
    """Return the value as one table cell.

    Tabs, line breaks and other control characters become spaces, so that no
    value can add a column or a row.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "".join(c if c.isprintable() else " " for c in text)
