"""Roster's blocking client against a live server on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

import roster
from roster.exceptions import (
    GroupError,
    GroupNotFoundError,
    UserError,
    UserNotFoundError,
)


@pytest.fixture
def client(org: Any) -> Any:
    with roster.Client(base_url=org.url, api_key=org.api_key) as client:
        yield client


def seed_users(client: Any, count: int, prefix: str = "user") -> list[dict[str, Any]]:
    return [
        client.users.create_user(f"{prefix}{i:04}@example.org", f"{prefix.title()} {i}")
        for i in range(count)
    ]


def test_reference_loop_survives_concurrent_writes(client: Any, org: Any) -> None:
    survivors = {u["id"] for u in seed_users(client, 150)}
    doomed = [u["id"] for u in seed_users(client, 60, prefix="doomed")]
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        with roster.Client(base_url=org.url, api_key=org.api_key) as writer:
            try:
                for n, user_id in enumerate(doomed):
                    if stop.is_set():
                        return
                    writer.users.delete_user(user_id)
                    writer.users.create_user(f"new{n:04}@example.org", f"New {n}")
            except BaseException as error:
                errors.append(error)

    thread = threading.Thread(target=write)
    seen: list[str] = []
    page = 1
    thread.start()
    try:
        while batch := client.users.list_users(limit=7, page=page):
            seen.extend(u["id"] for u in batch)
            page += 1
    finally:
        stop.set()
        thread.join(timeout=60)

    assert errors == []
    assert len(seen) == len(set(seen)), "a user was listed twice"
    assert survivors <= set(seen), "a user that existed throughout was skipped"


def test_iter_users_stops_after_exactly_full_page(client: Any) -> None:
    seed_users(client, 20)

    users = list(client.users.iter_users(page_size=10))

    assert len(users) == 20
    assert len({u["id"] for u in users}) == 20


def test_iter_users_applies_filters_and_sort(client: Any) -> None:
    seed_users(client, 5)
    client.users.create_user("müller@example.de", "Jürgen Müller")

    names = [u["name"] for u in client.users.iter_users(name_contains="MÜLLER")]
    descending = [u["email"] for u in client.users.iter_users(sort="-email")]

    assert names == ["Jürgen Müller"]
    assert descending == sorted(descending, reverse=True)


def test_get_user_of_another_org_is_not_found(
    client: Any, make_another_org: Any
) -> None:
    other = make_another_org()
    with roster.Client(base_url=other.url, api_key=other.api_key) as stranger:
        foreign = stranger.users.create_user("x@example.org", "X")

    with pytest.raises(UserNotFoundError):
        client.users.get_user(user_id=foreign["id"])


def test_update_with_stale_etag_fails(client: Any) -> None:
    user = client.users.create_user("ana@example.org", "Ana")
    client.users.update_user(user["id"], name="Ana B", if_match=user.etag)

    with pytest.raises(UserError) as caught:
        client.users.update_user(user["id"], name="Ana C", if_match=user.etag)

    assert caught.value.status_code == 412
    assert caught.value.code == "precondition_failed"
    assert client.users.get_user(user_id=user["id"])["name"] == "Ana B"


def test_idempotency_key_creates_once(client: Any) -> None:
    key = uuid.uuid4().hex

    first = client.users.create_user("once@example.org", "Once", idempotency_key=key)
    second = client.users.create_user("once@example.org", "Once", idempotency_key=key)

    assert first["id"] == second["id"]
    assert len(client.users.list_users(email="once@example.org")) == 1


def test_duplicate_email_any_case_conflicts(client: Any) -> None:
    client.users.create_user("Dup@Example.org", "Dup")

    with pytest.raises(UserError) as caught:
        client.users.create_user("dup@example.ORG", "Dup again")

    assert caught.value.status_code == 409
    assert caught.value.code == "email_taken"


def test_group_lifecycle_and_members(client: Any) -> None:
    ana, bo = seed_users(client, 2)
    parent = client.users.create_group("platform", description="Platform team")
    child = client.users.create_group("sre", parent_id=parent["id"])

    client.users.add_member(child["id"], ana["id"], role="maintainer")
    client.users.add_member(parent["id"], bo["id"])
    direct = client.users.list_members(parent["id"])
    nested = client.users.list_members(parent["id"], transitive=True)
    ana_groups = client.users.list_user_groups(ana["id"])
    client.users.delete_group(child["id"])

    assert [m["id"] for m in direct] == [bo["id"]]
    assert {m["id"] for m in nested} == {ana["id"], bo["id"]}
    assert [(g["name"], g["role"]) for g in ana_groups] == [("sre", "maintainer")]
    with pytest.raises(GroupNotFoundError):
        client.users.get_group(group_id=child["id"])
    assert client.users.get_user(user_id=ana["id"])["groups"] == []


def test_group_cycle_is_rejected(client: Any) -> None:
    top = client.users.create_group("top")
    below = client.users.create_group("below", parent_id=top["id"])

    with pytest.raises(GroupError) as caught:
        client.users.update_group(top["id"], parent_id=below["id"])

    assert caught.value.status_code == 409
    assert caught.value.code == "group_cycle"


def test_system_group_cannot_be_deleted(client: Any) -> None:
    everyone = client.users.get_group(name="everyone")

    with pytest.raises(GroupError) as caught:
        client.users.delete_group(everyone["id"])

    assert caught.value.status_code == 409
    assert everyone["system"] is True


def test_follow_changes_sees_every_write(client: Any) -> None:
    user = client.users.create_user("feed@example.org", "Feed")
    client.users.update_user(user["id"], name="Feed 2")
    client.users.delete_user(user["id"])

    feed = client.changes.follow_changes(poll_interval=0.05)
    changes = [next(feed) for _ in range(3)]

    assert [c["type"] for c in changes] == [
        "user.created",
        "user.updated",
        "user.deleted",
    ]
    assert [c["seq"] for c in changes] == [1, 2, 3]
    assert {c["actor"] for c in changes} == {"admin-key"}


def test_reader_key_cannot_write(org: Any) -> None:
    reader = roster.Client(base_url=org.url, api_key=org.reader_key)
    with reader, pytest.raises(UserError) as caught:
        reader.users.create_user("no@example.org", "No")

    assert caught.value.status_code == 403


def test_walk_by_created_at_survives_renames(client: Any, org: Any) -> None:
    users = seed_users(client, 120)
    expected = {u["id"] for u in users}
    stop = threading.Event()
    started = threading.Event()
    renamed: list[int] = []

    def rename() -> None:
        with roster.Client(base_url=org.url, api_key=org.api_key) as writer:
            n = 0
            while not stop.is_set() and n < 2000:
                user = users[n % len(users)]
                writer.users.update_user(
                    user["id"], name=f"Zed {n}", email=f"z{n}@x.org"
                )
                renamed.append(n)
                started.set()
                n += 1

    thread = threading.Thread(target=rename)
    seen: list[str] = []
    page = 1
    thread.start()
    try:
        assert started.wait(timeout=30), "the writer never renamed a user"
        while batch := client.users.list_users(limit=9, page=page, sort="created_at"):
            seen.extend(u["id"] for u in batch)
            page += 1
    finally:
        stop.set()
        thread.join(timeout=60)

    assert len(renamed) > 1
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
