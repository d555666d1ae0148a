"""The paging engine against plain LIMIT/OFFSET, which is what pages mean."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from roster.store import directory
from roster.store.changes import lock_org
from roster.store.db import Database
from roster.store.directory import GroupFilters, UserFilters
from roster.store.paging import InvalidCursor, PageMemory

USER_SORTS = [f"{sign}{name}" for name in directory.USER_SORTS for sign in ("", "-")]
GROUP_SORTS = [f"{sign}{name}" for name in directory.GROUP_SORTS for sign in ("", "-")]
USER_FILTERS = {
    "none": UserFilters(),
    "status": UserFilters(status="active"),
    "name": UserFilters(name_contains="AN"),
    "domain": UserFilters(email_domain="K8S.example.org"),
    "group": UserFilters(group="milestone-maintainers"),
}


def offset_user_ids(
    session: Session,
    org_id: uuid.UUID,
    filters: UserFilters,
    sort: str,
    limit: int,
    page: int,
) -> list[uuid.UUID]:
    key = directory.sort_key(directory.USER_SORTS, sort)
    order = [c.desc() if key.descending else c.asc() for c in key.columns]
    query = directory.users_query(session, org_id, filters).order_by(*order)
    rows = session.scalars(query.limit(limit).offset((page - 1) * limit))
    return [user.id for user in rows]


def walk_users(
    db: Database,
    org_id: uuid.UUID,
    *,
    sort: str,
    limit: int,
    memory: PageMemory,
    filters: UserFilters | None = None,
    use_cursor: bool = False,
) -> list[uuid.UUID]:
    """Walk every page, checking each against OFFSET; return the ids in order."""
    filters = filters or UserFilters()
    ids: list[uuid.UUID] = []
    page, cursor = 1, None
    while True:
        with db.read() as session:
            result = directory.list_users(
                session,
                org_id,
                filters=filters,
                sort=sort,
                limit=limit,
                page=page,
                cursor=cursor if use_cursor else None,
                memory=memory,
            )
            expected = offset_user_ids(session, org_id, filters, sort, limit, page)
        assert [u.id for u in result.rows] == expected
        ids.extend(expected)
        if not result.has_more:
            assert result.total == len(ids)
            return ids
        page, cursor = page + 1, result.next_cursor


def add_users(
    db: Database,
    org_id: uuid.UUID,
    count: int,
    *,
    prefix: str = "user",
    created_at: datetime | None = None,
) -> list[uuid.UUID]:
    """Insert users through the store; with ``created_at`` they all share it."""
    names = ["Ärger", "zeta", "Alpha", "émile", "郭欢", "ALPHA", "Zoë"]
    statuses = ["active", "invited", "deactivated"]
    ids = []
    with db.write() as session:
        org = lock_org(session, org_id)
        for i in range(count):
            user = directory.add_user(
                session,
                org,
                "test",
                email=f"{prefix}.{uuid.uuid4().hex[:8]}@example.org",
                name=names[i % len(names)],
                status=statuses[i % len(statuses)],
            )
            if created_at is not None:
                user.created_at = user.updated_at = created_at
            ids.append(user.id)
    return ids


@pytest.mark.parametrize("filter_name", list(USER_FILTERS))
@pytest.mark.parametrize("sort", USER_SORTS)
def test_remembered_pages_match_offset(
    k8s_org: Any, sort: str, filter_name: str
) -> None:
    memory = PageMemory()
    filters = USER_FILTERS[filter_name]

    first = walk_users(
        k8s_org.db, k8s_org.id, sort=sort, limit=97, memory=memory, filters=filters
    )
    again = walk_users(
        k8s_org.db, k8s_org.id, sort=sort, limit=97, memory=memory, filters=filters
    )

    assert len(first) == len(set(first))
    assert again == first


@pytest.mark.parametrize("sort", ["email", "-name", "created_at"])
def test_cursor_pages_match_offset(k8s_org: Any, sort: str) -> None:
    ids = walk_users(
        k8s_org.db,
        k8s_org.id,
        sort=sort,
        limit=50,
        memory=PageMemory(),
        use_cursor=True,
    )

    assert len(ids) == 1276
    assert len(set(ids)) == 1276


def test_small_pages_match_offset(k8s_org: Any) -> None:
    filters = UserFilters(name_contains="ar")

    ids = walk_users(
        k8s_org.db,
        k8s_org.id,
        sort="-email",
        limit=7,
        memory=PageMemory(),
        filters=filters,
    )

    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("sort", GROUP_SORTS)
def test_group_pages_match_offset(k8s_org: Any, sort: str) -> None:
    key = directory.sort_key(directory.GROUP_SORTS, sort)
    order = [c.desc() if key.descending else c.asc() for c in key.columns]
    memory = PageMemory()
    for page in range(1, 25):
        with k8s_org.db.read() as session:
            result = directory.list_groups(
                session,
                k8s_org.id,
                filters=GroupFilters(),
                sort=sort,
                limit=13,
                page=page,
                cursor=None,
                memory=memory,
            )
            query = directory.groups_query(session, k8s_org.id, GroupFilters())
            rows = session.scalars(
                query.order_by(*order).limit(13).offset((page - 1) * 13)
            )
            expected = [group.id for group in rows]
        assert [g.id for g in result.rows] == expected


def test_remembered_boundary_replaces_offset(k8s_org: Any) -> None:
    memory = PageMemory()
    statements: list[str] = []

    def capture(state: ORMExecuteState) -> None:
        statements.append(str(state.statement))

    def fetch(page: int) -> None:
        with k8s_org.db.read() as session:
            event.listen(session, "do_orm_execute", capture)
            directory.list_users(
                session,
                k8s_org.id,
                filters=UserFilters(),
                sort="name",
                limit=100,
                page=page,
                cursor=None,
                memory=memory,
            )

    fetch(1)
    fetch(2)
    statements.clear()
    fetch(3)

    user_selects = [s for s in statements if "FROM users" in s and "count" not in s]
    assert len(user_selects) == 1
    assert "OFFSET" not in user_selects[0]


def test_write_invalidates_remembered_pages(
    backend: Database, org_id: uuid.UUID
) -> None:
    add_users(backend, org_id, 60)
    memory = PageMemory()
    walk_users(backend, org_id, sort="email", limit=10, memory=memory)

    # A user that sorts first shifts every later page by one row.
    add_users(backend, org_id, 1, prefix="aaaa")
    shifted = walk_users(backend, org_id, sort="email", limit=10, memory=memory)

    assert len(shifted) == 61


def test_delete_invalidates_remembered_pages(
    backend: Database, org_id: uuid.UUID
) -> None:
    ids = add_users(backend, org_id, 45)
    memory = PageMemory()
    walk_users(backend, org_id, sort="created_at", limit=10, memory=memory)

    with backend.write() as session:
        directory.delete_user(session, org_id, "test", str(ids[3]))
    after = walk_users(backend, org_id, sort="created_at", limit=10, memory=memory)

    assert len(after) == 44
    assert ids[3] not in after


def test_total_follows_writes(backend: Database, org_id: uuid.UUID) -> None:
    add_users(backend, org_id, 5)
    memory = PageMemory()

    def total() -> int:
        with backend.read() as session:
            return directory.list_users(
                session,
                org_id,
                filters=UserFilters(),
                sort="email",
                limit=2,
                page=1,
                cursor=None,
                memory=memory,
            ).total

    before = total()
    add_users(backend, org_id, 2)

    assert before == 5
    assert total() == 7


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "updated_at"])
@pytest.mark.parametrize("use_cursor", [False, True])
def test_shared_timestamp_walk_returns_each_once(
    backend: Database, org_id: uuid.UUID, sort: str, use_cursor: bool
) -> None:
    moment = datetime(2026, 1, 31, 9, 0, 0, 123456, tzinfo=UTC)
    ids = add_users(backend, org_id, 150, created_at=moment)

    walked = walk_users(
        backend, org_id, sort=sort, limit=7, memory=PageMemory(), use_cursor=use_cursor
    )

    assert len(walked) == 150
    assert set(walked) == set(ids)
    assert walked == sorted(ids, reverse=sort.startswith("-"))


def list_page(
    db: Database, org_id: uuid.UUID, *, sort: str, page: int, cursor: str | None
) -> Any:
    with db.read() as session:
        return directory.list_users(
            session,
            org_id,
            filters=UserFilters(),
            sort=sort,
            limit=5,
            page=page,
            cursor=cursor,
            memory=PageMemory(),
        )


def test_cursor_of_other_sort_is_rejected(backend: Database, org_id: uuid.UUID) -> None:
    add_users(backend, org_id, 12)
    cursor = list_page(backend, org_id, sort="email", page=1, cursor=None).next_cursor

    with pytest.raises(InvalidCursor, match="other filters, sort or limit"):
        list_page(backend, org_id, sort="name", page=2, cursor=cursor)


def test_cursor_for_wrong_page_is_rejected(
    backend: Database, org_id: uuid.UUID
) -> None:
    add_users(backend, org_id, 12)
    cursor = list_page(backend, org_id, sort="email", page=1, cursor=None).next_cursor

    with pytest.raises(InvalidCursor, match="issued by page 1"):
        list_page(backend, org_id, sort="email", page=3, cursor=cursor)


def forge(cursor: str, change: Any) -> str:
    padded = cursor + "=" * (-len(cursor) % 4)
    parts = json.loads(base64.urlsafe_b64decode(padded))
    raw = json.dumps(change(parts)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "change",
    [
        lambda p: [p[0], str(p[1]), p[2]],
        lambda p: [p[0], True, p[2]],
        lambda p: [p[0], p[1], p[2][:1]],
        lambda p: [p[0], p[1], [*p[2], "extra"]],
        lambda p: [p[0], p[1], "not-a-list"],
        lambda p: [p[0], p[1], [1, p[2][1]]],
        lambda p: [p[0], p[1], [p[2][0], "not-a-uuid"]],
        lambda p: [p[0], p[1]],
        lambda p: {"scope": p[0]},
        lambda p: [1, p[1], p[2]],
    ],
    ids=[
        "page-as-text",
        "page-as-bool",
        "short-key",
        "long-key",
        "key-not-list",
        "key-wrong-type",
        "bad-uuid",
        "two-parts",
        "object",
        "scope-not-text",
    ],
)
def test_forged_cursor_is_rejected(
    backend: Database, org_id: uuid.UUID, change: Any
) -> None:
    add_users(backend, org_id, 12)
    cursor = list_page(backend, org_id, sort="email", page=1, cursor=None).next_cursor
    assert cursor is not None

    with pytest.raises(InvalidCursor):
        list_page(backend, org_id, sort="email", page=2, cursor=forge(cursor, change))


def test_forged_timestamp_cursor_is_rejected(
    backend: Database, org_id: uuid.UUID
) -> None:
    add_users(backend, org_id, 12)
    cursor = list_page(backend, org_id, sort="created_at", page=1, cursor=None)
    assert cursor.next_cursor is not None
    far = "9999-12-31T23:59:59-01:00"

    forged = forge(cursor.next_cursor, lambda p: [p[0], p[1], [far, p[2][1]]])

    with pytest.raises(InvalidCursor):
        list_page(backend, org_id, sort="created_at", page=2, cursor=forged)


@pytest.mark.parametrize(
    "cursor",
    ["", "abc", "!!!!", "e30", base64.urlsafe_b64encode(b"[" * 5000).decode()],
    ids=["empty", "short", "not-base64", "empty-object", "deep-nesting"],
)
def test_malformed_cursor_is_rejected(
    backend: Database, org_id: uuid.UUID, cursor: str
) -> None:
    with pytest.raises(InvalidCursor, match="malformed"):
        list_page(backend, org_id, sort="email", page=2, cursor=cursor)


def test_page_memory_is_bounded() -> None:
    memory = PageMemory(max_entries=3)
    for i in range(5):
        memory.put(("anchor", b"scope", i), 1, i)

    assert len(memory) == 3
    assert memory.get(("anchor", b"scope", 0), 1) is None
    assert memory.get(("anchor", b"scope", 4), 1) == 4


def test_page_memory_ignores_other_versions() -> None:
    memory = PageMemory()
    memory.put(("anchor", b"scope", 1), 7, "boundary")

    assert memory.get(("anchor", b"scope", 1), 8) is None
    assert memory.get(("anchor", b"scope", 1), 7) == "boundary"
