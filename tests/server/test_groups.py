"""Groups, nesting and memberships over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from server_helpers import (
    add_member,
    create_group,
    create_user,
    error_code,
    error_message,
    feed,
    walk,
)


def get_group(http: httpx.Client, ref: str) -> Any:
    response = http.get(f"/api/v2/groups/{ref}")
    assert response.status_code == 200, response.text
    return response.json()


def test_create_group_returns_201(admin: httpx.Client) -> None:
    response = admin.post(
        "/api/v2/groups", json={"name": "Platform", "description": "Runs things"}
    )
    body = response.json()

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    assert body["name"] == "Platform"
    assert body["description"] == "Runs things"
    assert body["system"] is False
    assert body["parent_id"] is None
    assert body["member_count"] == 0


def test_get_group_by_id_and_name(admin: httpx.Client) -> None:
    group = create_group(admin, "Platform")

    by_id = get_group(admin, group["id"])
    by_name = get_group(admin, "platform")
    by_upper = get_group(admin, "PLATFORM")

    assert by_id["name"] == "Platform"
    assert by_name["id"] == group["id"]
    assert by_upper["id"] == group["id"]


@pytest.mark.parametrize("ref", [str(uuid.uuid4()), "missing", "%00"])
def test_unknown_group_is_404(admin: httpx.Client, ref: str) -> None:
    response = admin.get(f"/api/v2/groups/{ref}")

    assert response.status_code == 404
    assert error_code(response) == "group_not_found"


@pytest.mark.parametrize("name", ["platform", "PLATFORM", "Platform"])
def test_duplicate_group_name_is_409(admin: httpx.Client, name: str) -> None:
    create_group(admin, "Platform")

    response = admin.post("/api/v2/groups", json={"name": name})
    groups = admin.get("/api/v2/groups", params={"name_contains": "platform"}).json()

    assert response.status_code == 409
    assert error_code(response) == "group_name_taken"
    assert groups["total"] == 1


@pytest.mark.parametrize("name", ["admins", "Everyone"])
def test_system_group_name_is_taken(admin: httpx.Client, name: str) -> None:
    response = admin.post("/api/v2/groups", json={"name": name})

    assert response.status_code == 409
    assert error_code(response) == "group_name_taken"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 129}, "name"),
        ({"name": 5}, "name"),
        ({"name": None}, "name"),
        ({}, "name"),
        ({"name": "ok", "description": "x" * 2001}, "description"),
        ({"name": "ok", "description": 0}, "description"),
        ({"name": "ok", "description": ["a"]}, "description"),
        ({"name": "ok", "parent_id": "not-a-uuid"}, "parent_id"),
        ({"name": "ok", "parent_id": 5}, "parent_id"),
        ({"name": "ok", "members": []}, "members"),
    ],
)
def test_invalid_group_is_400(
    admin: httpx.Client, body: dict[str, Any], field: str
) -> None:
    response = admin.post("/api/v2/groups", json=body)
    groups = admin.get("/api/v2/groups").json()

    assert response.status_code == 400
    assert error_code(response) == "invalid_body"
    assert field in error_message(response)
    assert groups["total"] == 2


def test_rename_and_describe(admin: httpx.Client) -> None:
    group = create_group(admin, "old-name")

    renamed = admin.patch(f"/api/v2/groups/{group['id']}", json={"name": "new-name"})
    described = admin.patch(
        f"/api/v2/groups/{group['id']}", json={"description": "Now described"}
    )

    assert renamed.status_code == 200
    assert renamed.headers["ETag"] == '"2"'
    assert described.json()["description"] == "Now described"
    assert get_group(admin, "new-name")["id"] == group["id"]
    assert admin.get("/api/v2/groups/old-name").status_code == 404


def test_rename_to_other_case_of_own_name(admin: httpx.Client) -> None:
    group = create_group(admin, "platform")

    response = admin.patch(f"/api/v2/groups/{group['id']}", json={"name": "Platform"})

    assert response.status_code == 200
    assert response.json()["name"] == "Platform"


def test_rename_to_taken_name_is_409(admin: httpx.Client) -> None:
    create_group(admin, "taken")
    group = create_group(admin, "free")

    response = admin.patch(f"/api/v2/groups/{group['id']}", json={"name": "TAKEN"})

    assert response.status_code == 409
    assert error_code(response) == "group_name_taken"
    assert get_group(admin, group["id"])["name"] == "free"


def test_stale_if_match_on_group_is_412(admin: httpx.Client) -> None:
    group = create_group(admin, "platform")
    admin.patch(f"/api/v2/groups/{group['id']}", json={"description": "one"})

    response = admin.patch(
        f"/api/v2/groups/{group['id']}",
        json={"description": "two"},
        headers={"If-Match": '"1"'},
    )

    assert response.status_code == 412
    assert get_group(admin, group["id"])["description"] == "one"


def test_set_and_clear_parent(admin: httpx.Client) -> None:
    parent = create_group(admin, "parent")
    child = create_group(admin, "child")

    set_response = admin.patch(
        f"/api/v2/groups/{child['id']}", json={"parent_id": parent["id"]}
    )
    children = admin.get("/api/v2/groups", params={"parent": "parent"}).json()
    cleared = admin.patch(f"/api/v2/groups/{child['id']}", json={"parent_id": None})

    assert set_response.json()["parent_id"] == parent["id"]
    assert [g["id"] for g in children["items"]] == [child["id"]]
    assert cleared.json()["parent_id"] is None


def test_create_with_parent(admin: httpx.Client) -> None:
    parent = create_group(admin, "parent")

    child = create_group(admin, "child", parent_id=parent["id"])

    assert child["parent_id"] == parent["id"]


def test_unknown_parent_is_404(admin: httpx.Client) -> None:
    response = admin.post(
        "/api/v2/groups", json={"name": "child", "parent_id": str(uuid.uuid4())}
    )

    assert response.status_code == 404
    assert error_code(response) == "group_not_found"


def test_self_parent_is_cycle(admin: httpx.Client) -> None:
    group = create_group(admin, "loop")

    response = admin.patch(
        f"/api/v2/groups/{group['id']}", json={"parent_id": group["id"]}
    )

    assert response.status_code == 409
    assert error_code(response) == "group_cycle"
    assert get_group(admin, group["id"])["parent_id"] is None


@pytest.mark.parametrize("length", [2, 3, 6])
def test_parent_cycle_is_409(admin: httpx.Client, length: int) -> None:
    groups = [create_group(admin, f"g{i}") for i in range(length)]
    for child, parent in zip(groups[1:], groups, strict=False):
        admin.patch(f"/api/v2/groups/{child['id']}", json={"parent_id": parent["id"]})
    before = feed(admin)

    # g0 under the last group closes the loop g0 -> g1 -> ... -> g0.
    response = admin.patch(
        f"/api/v2/groups/{groups[0]['id']}", json={"parent_id": groups[-1]["id"]}
    )

    assert response.status_code == 409
    assert error_code(response) == "group_cycle"
    assert get_group(admin, groups[0]["id"])["parent_id"] is None
    assert feed(admin) == before


def test_moving_within_tree_is_not_a_cycle(admin: httpx.Client) -> None:
    root = create_group(admin, "root")
    middle = create_group(admin, "middle", parent_id=root["id"])
    leaf = create_group(admin, "leaf", parent_id=middle["id"])

    response = admin.patch(
        f"/api/v2/groups/{leaf['id']}", json={"parent_id": root["id"]}
    )

    assert response.status_code == 200


@pytest.mark.parametrize("name", ["admins", "everyone"])
def test_system_group_cannot_be_renamed(admin: httpx.Client, name: str) -> None:
    group = get_group(admin, name)

    response = admin.patch(f"/api/v2/groups/{group['id']}", json={"name": "mine"})

    assert response.status_code == 409
    assert error_code(response) == "system_group"
    assert get_group(admin, group["id"])["name"] == name


@pytest.mark.parametrize("name", ["admins", "everyone"])
def test_system_group_cannot_be_deleted(admin: httpx.Client, name: str) -> None:
    response = admin.delete(f"/api/v2/groups/{name}")

    assert response.status_code == 409
    assert error_code(response) == "system_group"
    assert get_group(admin, name)["system"] is True


@pytest.mark.parametrize("name", ["admins", "everyone"])
def test_system_group_cannot_be_nested(admin: httpx.Client, name: str) -> None:
    system = get_group(admin, name)
    custom = create_group(admin, "custom")

    under_system = admin.post(
        "/api/v2/groups", json={"name": "inner", "parent_id": system["id"]}
    )
    system_under = admin.patch(
        f"/api/v2/groups/{system['id']}", json={"parent_id": custom["id"]}
    )

    assert error_code(under_system) == "system_group"
    assert error_code(system_under) == "system_group"


def test_delete_group_removes_memberships(admin: httpx.Client) -> None:
    parent = create_group(admin, "parent")
    group = create_group(admin, "doomed", parent_id=parent["id"])
    child = create_group(admin, "child", parent_id=group["id"])
    user = create_user(admin, "member@example.org", "Member")
    add_member(admin, group["id"], user["id"])
    add_member(admin, child["id"], user["id"])

    response = admin.delete(f"/api/v2/groups/{group['id']}")

    assert response.status_code == 204
    assert admin.get(f"/api/v2/groups/{group['id']}").status_code == 404
    assert get_group(admin, child["id"])["parent_id"] is None
    assert admin.get(f"/api/v2/users/{user['id']}").json()["groups"] == [child["id"]]
    groups = admin.get(f"/api/v2/users/{user['id']}/groups").json()
    assert [g["id"] for g in groups["items"]] == [child["id"]]
    types = [c["type"] for c in feed(admin)[-3:]]
    assert types == ["group.updated", "membership.removed", "group.deleted"]


def test_add_member_with_role(admin: httpx.Client) -> None:
    group = create_group(admin, "team")
    user = create_user(admin, "m@example.org", "M")

    added = admin.put(
        f"/api/v2/groups/{group['id']}/members/{user['id']}",
        json={"role": "maintainer"},
    )
    again = admin.put(
        f"/api/v2/groups/{group['id']}/members/{user['id']}",
        json={"role": "maintainer"},
    )
    changed = admin.put(
        f"/api/v2/groups/{group['id']}/members/{user['id']}", json={"role": "member"}
    )
    members = admin.get(f"/api/v2/groups/{group['id']}/members").json()

    assert added.status_code == 201
    assert added.json()["role"] == "maintainer"
    assert added.json()["user"]["id"] == user["id"]
    assert again.status_code == 200
    assert changed.status_code == 200
    assert [(m["id"], m["role"]) for m in members["items"]] == [(user["id"], "member")]
    types = [c["type"] for c in feed(admin)[-2:]]
    assert types == ["membership.added", "membership.updated"]


def test_add_member_by_names(admin: httpx.Client) -> None:
    create_group(admin, "Team")
    user = create_user(admin, "m@example.org", "M")

    response = admin.put("/api/v2/groups/team/members/M@EXAMPLE.ORG", json={})

    assert response.status_code == 201
    assert response.json()["user_id"] == user["id"]
    assert response.json()["role"] == "member"


def test_add_member_without_body(admin: httpx.Client) -> None:
    group = create_group(admin, "team")
    user = create_user(admin, "m@example.org", "M")

    response = admin.put(f"/api/v2/groups/{group['id']}/members/{user['id']}")

    assert response.status_code == 201
    assert response.json()["role"] == "member"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"role": "owner"}, "role"), ({"role": None}, "role"), ({"rank": 1}, "rank")],
)
def test_invalid_membership_is_400(
    admin: httpx.Client, body: dict[str, Any], field: str
) -> None:
    group = create_group(admin, "team")
    user = create_user(admin, "m@example.org", "M")

    response = admin.put(
        f"/api/v2/groups/{group['id']}/members/{user['id']}", json=body
    )

    assert response.status_code == 400
    assert field in error_message(response)
    assert get_group(admin, group["id"])["member_count"] == 0


def test_add_unknown_user_is_404(admin: httpx.Client) -> None:
    group = create_group(admin, "team")

    response = admin.put(f"/api/v2/groups/{group['id']}/members/{uuid.uuid4()}")

    assert response.status_code == 404
    assert error_code(response) == "user_not_found"


def test_remove_member(admin: httpx.Client) -> None:
    group = create_group(admin, "team")
    user = create_user(admin, "m@example.org", "M")
    add_member(admin, group["id"], user["id"])

    removed = admin.delete(f"/api/v2/groups/{group['id']}/members/{user['id']}")
    again = admin.delete(f"/api/v2/groups/{group['id']}/members/{user['id']}")

    assert removed.status_code == 204
    assert again.status_code == 404
    assert error_code(again) == "membership_not_found"
    assert get_group(admin, group["id"])["member_count"] == 0
    assert admin.get(f"/api/v2/users/{user['id']}").json()["groups"] == []


def test_members_are_paged_with_total(admin: httpx.Client) -> None:
    group = create_group(admin, "team")
    users = [create_user(admin, f"u{i}@example.org", f"U{i}") for i in range(7)]
    for user in users:
        add_member(admin, group["id"], user["id"])

    page = admin.get(f"/api/v2/groups/{group['id']}/members", params={"limit": 3})
    members = walk(admin, f"/api/v2/groups/{group['id']}/members", limit=3)

    assert page.json()["total"] == 7
    assert page.json()["pages"] == 3
    assert [m["email"] for m in members] == [f"u{i}@example.org" for i in range(7)]


def test_transitive_members_each_once(admin: httpx.Client) -> None:
    top = create_group(admin, "top")
    middle = create_group(admin, "middle", parent_id=top["id"])
    bottom = create_group(admin, "bottom", parent_id=middle["id"])
    aside = create_group(admin, "aside")
    direct = create_user(admin, "a-direct@example.org", "Direct")
    deep = create_user(admin, "b-deep@example.org", "Deep")
    both = create_user(admin, "c-both@example.org", "Both")
    outside = create_user(admin, "d-outside@example.org", "Outside")
    add_member(admin, top["id"], direct["id"], "maintainer")
    add_member(admin, bottom["id"], deep["id"])
    add_member(admin, middle["id"], both["id"])
    add_member(admin, bottom["id"], both["id"])
    add_member(admin, aside["id"], outside["id"])

    members = walk(
        admin, f"/api/v2/groups/{top['id']}/members", {"transitive": "true"}, limit=1
    )
    direct_only = admin.get(f"/api/v2/groups/{top['id']}/members").json()["items"]
    by_email = {m["email"]: m for m in members}

    assert [m["email"] for m in members] == [
        "a-direct@example.org",
        "b-deep@example.org",
        "c-both@example.org",
    ]
    assert by_email["a-direct@example.org"]["via"] == [top["id"]]
    assert by_email["a-direct@example.org"]["role"] == "maintainer"
    assert by_email["b-deep@example.org"]["via"] == [bottom["id"]]
    assert sorted(by_email["c-both@example.org"]["via"]) == sorted(
        [middle["id"], bottom["id"]]
    )
    assert [m["email"] for m in direct_only] == ["a-direct@example.org"]
    assert "via" not in direct_only[0]


def test_invalid_transitive_is_400(admin: httpx.Client) -> None:
    response = admin.get(
        "/api/v2/groups/admins/members", params={"transitive": "maybe"}
    )

    assert response.status_code == 400
    assert "transitive" in error_message(response)


def test_everyone_lists_every_user(admin: httpx.Client) -> None:
    users = [create_user(admin, f"u{i}@example.org", f"U{i}") for i in range(5)]
    admin.post(f"/api/v2/users/{users[0]['id']}/deactivate")

    members = walk(admin, "/api/v2/groups/everyone/members", limit=2)
    group = get_group(admin, "everyone")

    assert sorted(m["id"] for m in members) == sorted(u["id"] for u in users)
    assert group["member_count"] == 5
    assert {m["role"] for m in members} == {"member"}


def test_everyone_rejects_adds_and_removes(admin: httpx.Client) -> None:
    user = create_user(admin, "u@example.org", "U")

    added = admin.put(f"/api/v2/groups/everyone/members/{user['id']}", json={})
    removed = admin.delete(f"/api/v2/groups/everyone/members/{user['id']}")

    assert added.status_code == 409
    assert error_code(added) == "system_group"
    assert removed.status_code == 409
    assert admin.get(f"/api/v2/users/{user['id']}").json()["groups"] == []


def test_admins_accepts_members(admin: httpx.Client) -> None:
    user = create_user(admin, "u@example.org", "U")

    response = admin.put(f"/api/v2/groups/admins/members/{user['id']}", json={})

    assert response.status_code == 201
    assert get_group(admin, "admins")["member_count"] == 1


def test_idempotent_group_create_replays(admin: httpx.Client) -> None:
    headers = {"Idempotency-Key": "group-once"}

    first = admin.post("/api/v2/groups", json={"name": "once"}, headers=headers)
    second = admin.post("/api/v2/groups", json={"name": "once"}, headers=headers)
    other = admin.post("/api/v2/groups", json={"name": "twice"}, headers=headers)

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert error_code(other) == "idempotency_key_reused"
    assert admin.get("/api/v2/groups").json()["total"] == 3


def test_group_named_like_uuid_found_by_name(admin: httpx.Client) -> None:
    name = str(uuid.uuid4())
    group = create_group(admin, name)

    by_name = admin.get(f"/api/v2/groups/{name}")
    by_id = admin.get(f"/api/v2/groups/{group['id']}")

    assert by_name.status_code == 200
    assert by_name.json()["id"] == group["id"]
    assert by_id.json()["name"] == name


def test_description_keeps_line_breaks(admin: httpx.Client) -> None:
    description = "Owns the release.\n\tSee the handbook.\r\nAsk in #release."

    group = create_group(admin, "release", description=description)
    fetched = admin.get(f"/api/v2/groups/{group['id']}").json()

    assert fetched["description"] == description


def test_description_rejects_other_controls(admin: httpx.Client) -> None:
    response = admin.post(
        "/api/v2/groups", json={"name": "bell", "description": "ring\x07"}
    )

    assert response.status_code == 400
    assert "description" in error_message(response)


def test_put_without_role_keeps_existing_role(admin: httpx.Client) -> None:
    group = create_group(admin, "keepers")
    user = create_user(admin, "keeper@example.org", "Keeper")
    member = f"/api/v2/groups/{group['id']}/members/{user['id']}"
    admin.put(member, json={"role": "maintainer"})

    again = admin.put(member, json={})
    fresh = create_user(admin, "fresh@example.org", "Fresh")
    added = admin.put(f"/api/v2/groups/{group['id']}/members/{fresh['id']}")

    assert again.status_code == 200
    assert again.json()["role"] == "maintainer"
    assert added.status_code == 201
    assert added.json()["role"] == "member"


def test_missing_name_says_missing(admin: httpx.Client) -> None:
    response = admin.post("/api/v2/groups", json={"description": "no name"})

    assert response.status_code == 400
    assert error_message(response) == "name is missing; send it as a string"
