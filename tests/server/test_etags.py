"""ETags change whenever a representation changes, membership changes included."""

from __future__ import annotations

from typing import Any

import httpx
from server_helpers import add_member, create_group, create_user


def etag_and_updated(http: httpx.Client, path: str) -> tuple[str, str]:
    response = http.get(path)
    assert response.status_code == 200, response.text
    return response.headers["ETag"], response.json()["updated_at"]


def etag(http: httpx.Client, path: str) -> str:
    return etag_and_updated(http, path)[0]


def pair(http: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
    user = create_user(http, "member@example.org", "Member")
    group = create_group(http, "team")
    return user, group


def test_adding_member_changes_both_etags(admin: httpx.Client) -> None:
    user, group = pair(admin)
    user_path, group_path = f"/api/v2/users/{user['id']}", "/api/v2/groups/team"
    user_before = etag_and_updated(admin, user_path)
    group_before = etag_and_updated(admin, group_path)

    add_member(admin, group["id"], user["id"])
    user_after = etag_and_updated(admin, user_path)
    group_after = etag_and_updated(admin, group_path)

    assert user_after[0] != user_before[0]
    assert group_after[0] != group_before[0]
    # updated_at records when the resource's own fields changed.
    assert user_after[1] == user_before[1]
    assert group_after[1] == group_before[1]


def test_changing_role_changes_both_etags(admin: httpx.Client) -> None:
    user, group = pair(admin)
    add_member(admin, group["id"], user["id"])
    before = (
        etag(admin, f"/api/v2/users/{user['id']}"),
        etag(admin, "/api/v2/groups/team"),
    )

    add_member(admin, group["id"], user["id"], "maintainer")
    after = (
        etag(admin, f"/api/v2/users/{user['id']}"),
        etag(admin, "/api/v2/groups/team"),
    )

    assert after[0] != before[0]
    assert after[1] != before[1]


def test_same_role_changes_no_etag(admin: httpx.Client) -> None:
    user, group = pair(admin)
    add_member(admin, group["id"], user["id"])
    before = (
        etag(admin, f"/api/v2/users/{user['id']}"),
        etag(admin, "/api/v2/groups/team"),
    )

    add_member(admin, group["id"], user["id"])
    after = (
        etag(admin, f"/api/v2/users/{user['id']}"),
        etag(admin, "/api/v2/groups/team"),
    )

    assert after == before


def test_removing_member_changes_both_etags(admin: httpx.Client) -> None:
    user, group = pair(admin)
    add_member(admin, group["id"], user["id"])
    before = (
        etag(admin, f"/api/v2/users/{user['id']}"),
        etag(admin, "/api/v2/groups/team"),
    )

    admin.delete(f"/api/v2/groups/{group['id']}/members/{user['id']}")
    after = (
        etag(admin, f"/api/v2/users/{user['id']}"),
        etag(admin, "/api/v2/groups/team"),
    )

    assert after[0] != before[0]
    assert after[1] != before[1]


def test_deleting_user_changes_group_etags(admin: httpx.Client) -> None:
    user, group = pair(admin)
    add_member(admin, group["id"], user["id"])
    team_before = etag(admin, "/api/v2/groups/team")
    everyone_before = etag(admin, "/api/v2/groups/everyone")

    admin.delete(f"/api/v2/users/{user['id']}")

    assert etag(admin, "/api/v2/groups/team") != team_before
    assert etag(admin, "/api/v2/groups/everyone") != everyone_before


def test_deleting_group_changes_member_etags(admin: httpx.Client) -> None:
    user, group = pair(admin)
    bystander = create_user(admin, "bystander@example.org", "Bystander")
    add_member(admin, group["id"], user["id"])
    member_before = etag(admin, f"/api/v2/users/{user['id']}")
    bystander_before = etag(admin, f"/api/v2/users/{bystander['id']}")

    admin.delete(f"/api/v2/groups/{group['id']}")

    assert etag(admin, f"/api/v2/users/{user['id']}") != member_before
    assert etag(admin, f"/api/v2/users/{bystander['id']}") == bystander_before


def test_creating_user_changes_everyone_etag(admin: httpx.Client) -> None:
    before = admin.get("/api/v2/groups/everyone")

    create_user(admin, "new@example.org", "New")
    after = admin.get("/api/v2/groups/everyone")

    assert after.json()["member_count"] == before.json()["member_count"] + 1
    assert after.headers["ETag"] != before.headers["ETag"]


def test_stale_etag_after_membership_change_is_412(admin: httpx.Client) -> None:
    user, group = pair(admin)
    stale = etag(admin, f"/api/v2/users/{user['id']}")
    add_member(admin, group["id"], user["id"])

    response = admin.patch(
        f"/api/v2/users/{user['id']}",
        json={"name": "Renamed"},
        headers={"If-Match": stale},
    )

    assert response.status_code == 412


def test_new_user_etag_is_one(admin: httpx.Client) -> None:
    response = admin.post(
        "/api/v2/users", json={"email": "fresh@example.org", "name": "Fresh"}
    )

    assert response.headers["ETag"] == '"1"'
    assert etag(admin, f"/api/v2/users/{response.json()['id']}") == '"1"'


def test_new_etag_each_request(admin: httpx.Client) -> None:
    user, group = pair(admin)
    seen = {etag(admin, f"/api/v2/users/{user['id']}")}

    for role in ("member", "maintainer", "member"):
        add_member(admin, group["id"], user["id"], role)
        seen.add(etag(admin, f"/api/v2/users/{user['id']}"))
    admin.patch(f"/api/v2/users/{user['id']}", json={"name": "Renamed"})
    seen.add(etag(admin, f"/api/v2/users/{user['id']}"))

    assert len(seen) == 5
