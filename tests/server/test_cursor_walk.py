"""Cursors over HTTP: rejected when they do not belong, exact under writes."""

from __future__ import annotations

import base64
import json
import random
import threading
import uuid
from typing import Any

import httpx
import pytest
from server_helpers import client, create_group, error_code, error_message, walk

from roster.store import directory
from roster.store.changes import lock_org


def add_users(org: Any, count: int) -> set[str]:
    """Insert users through the store, with emails spread over the alphabet."""
    ids = set()
    with org.db.write() as session:
        locked = lock_org(session, org.id)
        for _ in range(count):
            token = uuid.uuid4().hex[:12]
            user = directory.add_user(
                session,
                locked,
                "test",
                email=f"{token}@example.org",
                name=f"{token[::-1]} Person",
                status="active",
            )
            ids.add(str(user.id))
    return ids


@pytest.fixture
def cursor(admin: httpx.Client, org: Any) -> str:
    add_users(org, 12)
    body = admin.get("/api/v2/users", params={"limit": 5, "page": 1}).json()
    next_cursor: str = body["next_cursor"]
    return next_cursor


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v2/groups", {"limit": 5, "page": 2}),
        ("/api/v2/users", {"limit": 5, "page": 2, "sort": "name"}),
        ("/api/v2/users", {"limit": 5, "page": 2, "sort": "-email"}),
        ("/api/v2/users", {"limit": 6, "page": 2}),
        ("/api/v2/users", {"limit": 5, "page": 2, "status": "active"}),
        ("/api/v2/users", {"limit": 5, "page": 2, "name_contains": "e"}),
        ("/api/v2/users", {"limit": 5, "page": 3}),
        ("/api/v2/users", {"limit": 5, "page": 1}),
        ("/api/v2/groups/everyone/members", {"limit": 5, "page": 2}),
    ],
    ids=[
        "groups",
        "other-sort",
        "descending",
        "other-limit",
        "other-status",
        "other-name",
        "skipped-page",
        "same-page",
        "members",
    ],
)
def test_foreign_cursor_is_400(
    admin: httpx.Client, cursor: str, path: str, params: dict[str, Any]
) -> None:
    response = admin.get(path, params={**params, "cursor": cursor})

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert error_message(response).startswith("cursor ")


def test_matching_cursor_is_accepted(admin: httpx.Client, cursor: str) -> None:
    response = admin.get(
        "/api/v2/users", params={"limit": 5, "page": 2, "cursor": cursor}
    )

    assert response.status_code == 200
    assert len(response.json()["items"]) == 5


def test_cursor_of_other_group_is_400(admin: httpx.Client, org: Any) -> None:
    ids = add_users(org, 4)
    first = create_group(admin, "first")
    second = create_group(admin, "second")
    for user_id in ids:
        admin.put(f"/api/v2/groups/{first['id']}/members/{user_id}", json={})
        admin.put(f"/api/v2/groups/{second['id']}/members/{user_id}", json={})
    page = admin.get(f"/api/v2/groups/{first['id']}/members", params={"limit": 2})

    response = admin.get(
        f"/api/v2/groups/{second['id']}/members",
        params={"limit": 2, "page": 2, "cursor": page.json()["next_cursor"]},
    )

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"


def reencode(cursor: str, change: Any) -> str:
    padded = cursor + "=" * (-len(cursor) % 4)
    parts = json.loads(base64.urlsafe_b64decode(padded))
    return base64.urlsafe_b64encode(json.dumps(change(parts)).encode()).decode()


@pytest.mark.parametrize(
    "make",
    [
        lambda c: "not a cursor",
        lambda c: "e30",
        lambda c: c[:-3],
        lambda c: c + "AAAA",
        lambda c: base64.urlsafe_b64encode(b"[" * 3000).decode(),
        lambda c: reencode(c, lambda p: [p[0], "1", p[2]]),
        lambda c: reencode(c, lambda p: [p[0], p[1], [None, None]]),
        lambda c: reencode(c, lambda p: [p[0], p[1], [p[2][0], "x"]]),
    ],
    ids=[
        "text",
        "object",
        "truncated",
        "padded",
        "deep",
        "page-text",
        "null-key",
        "bad-id",
    ],
)
def test_malformed_cursor_is_400(admin: httpx.Client, cursor: str, make: Any) -> None:
    response = admin.get(
        "/api/v2/users", params={"limit": 5, "page": 2, "cursor": make(cursor)}
    )

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert "cursor" in error_message(response)


@pytest.mark.parametrize("sort", ["email", "-name"])
def test_walk_during_writes_returns_each_user_once(org: Any, sort: str) -> None:
    originals = add_users(org, 300)
    deleted: set[str] = set()
    walker_started = threading.Event()
    writer_done = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        # 100 creations and 100 deletions: 60 of the users the writer created
        # and 40 of the original users.
        rng = random.Random(sort)
        victims = rng.sample(sorted(originals), 40)
        created: list[str] = []
        walker_started.wait(timeout=30)
        try:
            with client(org.url, org.api_key) as http:
                for i in range(100):
                    email = f"{uuid.uuid4().hex[:12]}@example.org"
                    response = http.post(
                        "/api/v2/users", json={"email": email, "name": f"New {i}"}
                    )
                    created.append(response.json()["id"])
                    if i % 5 < 3:
                        target = created.pop(rng.randrange(len(created)))
                    else:
                        target = victims.pop()
                        deleted.add(target)
                    http.delete(f"/api/v2/users/{target}")
        except BaseException as error:
            failures.append(error)
        finally:
            writer_done.set()

    writer = threading.Thread(target=write)
    writer.start()
    walks: list[list[str]] = []
    with client(org.url, org.api_key) as http:
        walker_started.set()
        while len(walks) < 20:
            finished_before = writer_done.is_set()
            items = walk(http, "/api/v2/users", {"sort": sort}, limit=10)
            walks.append([user["id"] for user in items])
            if finished_before:
                break
    writer.join(timeout=60)

    assert not failures
    assert len(walks) >= 2
    for ids in walks:
        assert len(ids) == len(set(ids))
        # ``deleted`` contains every original deleted up to now, a superset of those
        # deleted during this walk, so the rest existed for the whole walk.
        assert originals - deleted <= set(ids)
