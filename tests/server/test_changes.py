"""The change feed and the audit log."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest
from server_helpers import (
    add_member,
    client,
    create_group,
    create_user,
    error_code,
    error_message,
    feed,
)


def make_every_change(http: httpx.Client) -> list[str]:
    """Make one change of every type; return the types in the expected order."""
    user = create_user(http, "feed@example.org", "Feed")
    http.patch(f"/api/v2/users/{user['id']}", json={"name": "Fed"})
    group = create_group(http, "feeders")
    http.patch(f"/api/v2/groups/{group['id']}", json={"description": "Feeds"})
    add_member(http, group["id"], user["id"])
    add_member(http, group["id"], user["id"], "maintainer")
    http.delete(f"/api/v2/groups/{group['id']}/members/{user['id']}")
    add_member(http, group["id"], user["id"])
    http.delete(f"/api/v2/users/{user['id']}")
    http.delete(f"/api/v2/groups/{group['id']}")
    return [
        "user.created",
        "user.updated",
        "group.created",
        "group.updated",
        "membership.added",
        "membership.updated",
        "membership.removed",
        "membership.added",
        "membership.removed",
        "user.deleted",
        "group.deleted",
    ]


def test_feed_records_every_write_type(admin: httpx.Client) -> None:
    expected = make_every_change(admin)

    changes = feed(admin)

    assert [c["type"] for c in changes] == expected
    assert [c["seq"] for c in changes] == list(range(1, len(expected) + 1))


def test_feed_entries_name_the_key(admin: httpx.Client, org: Any) -> None:
    make_every_change(admin)

    response = admin.get("/api/v2/changes")

    assert {c["actor"] for c in response.json()["items"]} == {"admin-key"}
    assert org.api_key not in response.text
    assert org.api_key[:10] not in response.text


def test_feed_for_reader_key_omits_actor(
    admin: httpx.Client, reader: httpx.Client
) -> None:
    expected = make_every_change(admin)

    response = reader.get("/api/v2/changes")
    items = response.json()["items"]

    assert response.status_code == 200
    assert [c["type"] for c in items] == expected
    assert all("actor" not in c for c in items)
    assert "admin-key" not in response.text


def test_feed_entries_carry_the_resource(admin: httpx.Client) -> None:
    user = create_user(admin, "feed@example.org", "Feed")
    group = create_group(admin, "feeders")
    add_member(admin, group["id"], user["id"], "maintainer")

    created, grouped, added = feed(admin)

    assert created["resource_type"] == "user"
    assert created["resource_id"] == user["id"]
    assert created["data"]["email"] == "feed@example.org"
    assert grouped["resource_id"] == group["id"]
    assert added["data"] == {
        "group_id": group["id"],
        "user_id": user["id"],
        "role": "maintainer",
    }
    assert created["occurred_at"].endswith("Z")


def test_feed_batches_follow_cursor(admin: httpx.Client) -> None:
    for i in range(5):
        create_user(admin, f"u{i}@example.org", f"U{i}")

    first = admin.get("/api/v2/changes", params={"limit": 2}).json()
    second = admin.get(
        "/api/v2/changes", params={"limit": 2, "after": first["next_cursor"]}
    ).json()
    last = admin.get("/api/v2/changes", params={"limit": 2, "after": "4"}).json()
    empty = admin.get("/api/v2/changes", params={"after": "5"}).json()

    assert [c["seq"] for c in first["items"]] == [1, 2]
    assert first["next_cursor"] == "2"
    assert first["has_more"] is True
    assert [c["seq"] for c in second["items"]] == [3, 4]
    assert [c["seq"] for c in last["items"]] == [5]
    assert last["has_more"] is False
    assert empty["items"] == []
    assert empty["next_cursor"] == "5"


def test_feed_after_end_keeps_cursor(admin: httpx.Client) -> None:
    body = admin.get("/api/v2/changes", params={"after": "1000"}).json()

    assert body["items"] == []
    assert body["next_cursor"] == "1000"
    assert body["has_more"] is False


@pytest.mark.parametrize(
    "after", ["abc", "-1", "1.5", "", "9" * 40, "9223372036854775808", "0x10"]
)
def test_invalid_after_is_400(admin: httpx.Client, after: str) -> None:
    response = admin.get("/api/v2/changes", params={"after": after})

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert error_message(response).startswith("after must be a whole number")


@pytest.mark.parametrize("limit", ["0", "1001", "x"])
def test_invalid_feed_limit_is_400(admin: httpx.Client, limit: str) -> None:
    response = admin.get("/api/v2/changes", params={"limit": limit})

    assert response.status_code == 400
    assert "limit" in error_message(response)


def test_feed_read_during_writes_is_exact(org: Any) -> None:
    writers = 3
    writes_each = 40
    done = threading.Event()
    failures: list[BaseException] = []

    def write(index: int) -> None:
        try:
            with client(org.url, org.api_key) as http:
                for i in range(writes_each):
                    user = create_user(http, f"w{index}-{i}@example.org", f"W{i}")
                    if i % 4 == 0:
                        http.delete(f"/api/v2/users/{user['id']}")
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    seen: list[dict[str, Any]] = []
    after = "0"
    with client(org.url, org.api_key) as http:
        while True:
            finished = done.is_set()
            body = http.get("/api/v2/changes", params={"after": after, "limit": 7})
            batch = body.json()
            seen.extend(batch["items"])
            after = batch["next_cursor"]
            if finished and not batch["has_more"]:
                break
            if all(not t.is_alive() for t in threads):
                done.set()
        full = feed(http)
    for thread in threads:
        thread.join()

    seqs = [c["seq"] for c in seen]
    assert not failures
    assert seen == full
    assert seqs == list(range(1, writers * writes_each + writers * 10 + 1))


def test_audit_is_newest_first(admin: httpx.Client) -> None:
    make_every_change(admin)

    body = admin.get("/api/v2/audit", params={"limit": 4}).json()
    second = admin.get("/api/v2/audit", params={"limit": 4, "page": 2}).json()
    past = admin.get("/api/v2/audit", params={"limit": 4, "page": 4}).json()

    assert [e["seq"] for e in body["items"]] == [11, 10, 9, 8]
    assert [e["seq"] for e in second["items"]] == [7, 6, 5, 4]
    assert body["items"][0]["action"] == "group.deleted"
    assert {e["actor"] for e in body["items"]} == {"admin-key"}
    assert body["total"] == 11
    assert body["pages"] == 3
    assert body["has_more"] is True
    assert past["items"] == []


def test_audit_names_each_key(admin: httpx.Client, org: Any) -> None:
    from roster.store.orgs import create_key, get_org

    with org.db.write() as session:
        key = create_key(session, get_org(session, org.name), "ci-import", "admin")
    create_user(admin, "a@example.org", "A")
    with client(org.url, key.secret) as ci:
        create_user(ci, "b@example.org", "B")

    response = admin.get("/api/v2/audit")
    actors = [e["actor"] for e in response.json()["items"]]

    assert actors == ["ci-import", "admin-key"]
    assert key.secret not in response.text


def test_audit_needs_admin_key(reader: httpx.Client) -> None:
    response = reader.get("/api/v2/audit")

    assert response.status_code == 403
    assert error_code(response) == "forbidden"


def test_feed_unchanged_by_failed_writes(admin: httpx.Client) -> None:
    user = create_user(admin, "a@example.org", "A")
    before = feed(admin)

    admin.post("/api/v2/users", json={"email": "A@example.org", "name": "Twin"})
    admin.patch(f"/api/v2/users/{user['id']}", json={"status": "gone"})
    admin.delete(f"/api/v2/users/{uuid.uuid4()}")
    admin.patch("/api/v2/groups/admins", json={"name": "owners"})

    assert feed(admin) == before
