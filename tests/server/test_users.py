"""Reading and writing users over HTTP."""

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
)


def user_count(http: httpx.Client) -> int:
    total: int = http.get("/api/v2/users").json()["total"]
    return total


@pytest.fixture
def anna(admin: httpx.Client) -> dict[str, Any]:
    user: dict[str, Any] = create_user(admin, "Anna.Garza@Example.org", "Anna Garza")
    return user


def test_create_returns_201_with_etag(admin: httpx.Client) -> None:
    response = admin.post(
        "/api/v2/users",
        json={"email": "new@example.org", "name": "New", "status": "invited"},
    )
    body = response.json()

    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    assert body["email"] == "new@example.org"
    assert body["status"] == "invited"
    assert body["groups"] == []


def test_create_keeps_image(admin: httpx.Client) -> None:
    image = "https://example.org/avatars/anna.png"
    created = create_user(admin, "img@example.org", "Img", image=image)

    assert created["image"] == image
    assert admin.get(f"/api/v2/users/{created['id']}").json()["image"] == image


def test_get_by_id_and_email(admin: httpx.Client, anna: dict[str, Any]) -> None:
    by_id = admin.get(f"/api/v2/users/{anna['id']}")
    by_email = admin.get("/api/v2/users/anna.garza@example.org")
    by_upper = admin.get("/api/v2/users/ANNA.GARZA@EXAMPLE.ORG")

    assert by_id.json() == anna
    assert by_email.json()["id"] == anna["id"]
    assert by_upper.json()["id"] == anna["id"]
    assert by_id.headers["ETag"] == '"1"'


@pytest.mark.parametrize(
    "ref", [str(uuid.uuid4()), "nobody@example.org", "not-an-email", "%00"]
)
def test_unknown_user_is_404(admin: httpx.Client, ref: str) -> None:
    response = admin.get(f"/api/v2/users/{ref}")

    assert response.status_code == 404
    assert error_code(response) == "user_not_found"


@pytest.mark.parametrize("email", ["anna.garza@example.org", "ANNA.GARZA@EXAMPLE.ORG"])
def test_duplicate_email_is_409(
    admin: httpx.Client, anna: dict[str, Any], email: str
) -> None:
    response = admin.post("/api/v2/users", json={"email": email, "name": "Twin"})
    matches = admin.get("/api/v2/users", params={"email": email}).json()

    assert response.status_code == 409
    assert error_code(response) == "email_taken"
    assert matches["total"] == 1
    assert matches["items"][0]["id"] == anna["id"]


INVALID_USERS = [
    ({"email": "not-an-email", "name": "A"}, "email"),
    ({"email": "a@", "name": "A"}, "email"),
    ({"email": "@example.org", "name": "A"}, "email"),
    ({"email": "a b@example.org", "name": "A"}, "email"),
    ({"email": " a@example.org", "name": "A"}, "email"),
    ({"email": "", "name": "A"}, "email"),
    ({"email": "a@example.org", "name": ""}, "name"),
    ({"email": "a@example.org", "name": "   "}, "name"),
    ({"email": "a@example.org", "name": "x" * 257}, "name"),
    ({"email": "a@example.org", "name": "😀" * 257}, "name"),
    ({"email": "a@example.org", "name": "x" * 10_000}, "name"),
    ({"email": "a@example.org", "name": "nul\x00byte"}, "name"),
    ({"email": "a@example.org", "name": "line\nbreak"}, "name"),
    ({"email": "a@example.org", "name": 123}, "name"),
    ({"email": "a@example.org", "name": None}, "name"),
    ({"email": "a@example.org", "name": ["A"]}, "name"),
    ({"email": None, "name": "A"}, "email"),
    ({"email": 5, "name": "A"}, "email"),
    ({"name": "A"}, "email"),
    ({"email": "a@example.org"}, "name"),
    ({"email": "a@example.org", "name": "A", "status": "gone"}, "status"),
    ({"email": "a@example.org", "name": "A", "status": None}, "status"),
    ({"email": "a@example.org", "name": "A", "image": 7}, "image"),
    ({"email": "a@example.org", "name": "A", "image": "x" * 2049}, "image"),
    ({"email": "a@example.org", "name": "A", "role": "admin"}, "role"),
    ({"email": "a@example.org", "name": "A", "id": str(uuid.uuid4())}, "id"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_USERS)
def test_invalid_user_is_400_and_not_written(
    admin: httpx.Client, body: dict[str, Any], field: str
) -> None:
    response = admin.post("/api/v2/users", json=body)

    assert response.status_code == 400
    assert error_code(response) == "invalid_body"
    assert field in error_message(response)
    assert user_count(admin) == 0
    assert feed(admin) == []


@pytest.mark.parametrize(
    "name",
    ["x" * 256, "😀" * 256, "e\u0301" * 128, "👩🏽‍💻 emoji person", "  padded  "],
)
def test_name_within_limit_is_kept_exactly(admin: httpx.Client, name: str) -> None:
    created = create_user(admin, "limit@example.org", name)
    fetched = admin.get(f"/api/v2/users/{created['id']}").json()

    assert fetched["name"] == name


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Anna Maria Garza"),
        ("email", "anna@other.example"),
        ("status", "deactivated"),
        ("image", "https://example.org/a.png"),
    ],
)
def test_update_changes_one_field(
    admin: httpx.Client, anna: dict[str, Any], field: str, value: str
) -> None:
    response = admin.patch(f"/api/v2/users/{anna['id']}", json={field: value})
    fetched = admin.get(f"/api/v2/users/{anna['id']}").json()

    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    assert fetched[field] == value
    assert fetched["updated_at"] >= anna["updated_at"]
    unchanged = {k for k in ("name", "email", "status", "image") if k != field}
    for key in unchanged:
        assert fetched[key] == anna[key]


def test_update_clears_image(admin: httpx.Client) -> None:
    user = create_user(admin, "img@example.org", "Img", image="https://example.org/i")

    response = admin.patch(f"/api/v2/users/{user['id']}", json={"image": None})

    assert response.json()["image"] is None


def test_update_to_taken_email_is_409(
    admin: httpx.Client, anna: dict[str, Any]
) -> None:
    other = create_user(admin, "other@example.org", "Other")

    response = admin.patch(
        f"/api/v2/users/{other['id']}", json={"email": "ANNA.garza@example.org"}
    )

    assert response.status_code == 409
    assert error_code(response) == "email_taken"
    assert admin.get(f"/api/v2/users/{other['id']}").json()["email"] == other["email"]


def test_update_email_case_of_same_user(
    admin: httpx.Client, anna: dict[str, Any]
) -> None:
    response = admin.patch(
        f"/api/v2/users/{anna['id']}", json={"email": "anna.garza@example.org"}
    )

    assert response.status_code == 200
    assert response.json()["email"] == "anna.garza@example.org"


def test_update_with_same_values_changes_nothing(
    admin: httpx.Client, anna: dict[str, Any]
) -> None:
    response = admin.patch(f"/api/v2/users/{anna['id']}", json={"name": anna["name"]})

    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    assert len(feed(admin)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"email": "bad"}, "email"),
        ({"email": None}, "email"),
        ({"status": "sleeping"}, "status"),
        ({"nickname": "A"}, "nickname"),
    ],
)
def test_invalid_update_is_400_and_not_written(
    admin: httpx.Client, anna: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    response = admin.patch(f"/api/v2/users/{anna['id']}", json=body)

    assert response.status_code == 400
    assert error_code(response) == "invalid_body"
    assert field in error_message(response)
    assert admin.get(f"/api/v2/users/{anna['id']}").json() == anna


def test_stale_if_match_is_412(admin: httpx.Client, anna: dict[str, Any]) -> None:
    admin.patch(f"/api/v2/users/{anna['id']}", json={"name": "Second"})

    response = admin.patch(
        f"/api/v2/users/{anna['id']}",
        json={"name": "Third"},
        headers={"If-Match": '"1"'},
    )

    assert response.status_code == 412
    assert error_code(response) == "precondition_failed"
    assert admin.get(f"/api/v2/users/{anna['id']}").json()["name"] == "Second"


@pytest.mark.parametrize(
    "tag", ['"1"', "*", '"0", "1"', '"1", W/"1"', '"7" ,"1"', ', "1",']
)
def test_current_if_match_is_accepted(
    admin: httpx.Client, anna: dict[str, Any], tag: str
) -> None:
    response = admin.patch(
        f"/api/v2/users/{anna['id']}",
        json={"name": "Second"},
        headers={"If-Match": tag},
    )

    assert response.status_code == 200


def test_stale_if_match_blocks_delete(
    admin: httpx.Client, anna: dict[str, Any]
) -> None:
    response = admin.delete(f"/api/v2/users/{anna['id']}", headers={"If-Match": '"9"'})

    assert response.status_code == 412
    assert admin.get(f"/api/v2/users/{anna['id']}").status_code == 200


@pytest.mark.parametrize(
    "tag",
    ['W/"1"', 'W/"1", W/"2"', '"x1"', '"²"', '"' + "9" * 5000 + '"', '"2", "3"', ""],
    ids=["weak", "weak-list", "other-tag", "latin1", "long", "stale-list", "empty"],
)
def test_non_matching_if_match_is_412(
    admin: httpx.Client, anna: dict[str, Any], tag: str
) -> None:
    response = admin.patch(
        f"/api/v2/users/{anna['id']}",
        json={"name": "Second"},
        headers={"If-Match": tag.encode("latin-1", "replace")},
    )

    assert response.status_code == 412
    assert error_code(response) == "precondition_failed"
    assert admin.get(f"/api/v2/users/{anna['id']}").json()["name"] == "Anna Garza"


def test_if_match_lines_form_one_list(
    admin: httpx.Client, anna: dict[str, Any]
) -> None:
    response = admin.patch(
        f"/api/v2/users/{anna['id']}",
        json={"name": "Second"},
        headers=[("If-Match", '"5"'), ("If-Match", '"1"')],
    )

    assert response.status_code == 200


@pytest.mark.parametrize("tag", ["abc", "1", "W/1", '"1" "2"', '*, "1"', '"1', "tag3"])
def test_malformed_if_match_is_400(
    admin: httpx.Client, anna: dict[str, Any], tag: str
) -> None:
    response = admin.patch(
        f"/api/v2/users/{anna['id']}",
        json={"name": "Second"},
        headers={"If-Match": tag.encode()},
    )

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert "If-Match" in error_message(response)


def test_idempotent_create_replays_response(admin: httpx.Client) -> None:
    body = {"email": "once@example.org", "name": "Once"}
    headers = {"Idempotency-Key": "create-once-1"}

    first = admin.post("/api/v2/users", json=body, headers=headers)
    second = admin.post("/api/v2/users", json=body, headers=headers)

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["ETag"] == first.headers["ETag"]
    assert user_count(admin) == 1
    assert len(feed(admin)) == 1


def test_idempotency_key_with_other_body_is_409(admin: httpx.Client) -> None:
    headers = {"Idempotency-Key": "create-once-2"}
    admin.post(
        "/api/v2/users", json={"email": "a@example.org", "name": "A"}, headers=headers
    )

    response = admin.post(
        "/api/v2/users", json={"email": "b@example.org", "name": "B"}, headers=headers
    )

    assert response.status_code == 409
    assert error_code(response) == "idempotency_key_reused"
    assert user_count(admin) == 1


def test_idempotency_keys_are_per_org(admin: httpx.Client, server: Any) -> None:
    from server_helpers import client, new_org

    keys = new_org(server.db)
    body = {"email": "a@example.org", "name": "A"}
    headers = {"Idempotency-Key": "shared-key"}

    with client(server.url, keys.api_key) as other:
        theirs = other.post("/api/v2/users", json=body, headers=headers)
    mine = admin.post("/api/v2/users", json=body, headers=headers)

    assert theirs.status_code == 201
    assert mine.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_failed_idempotent_create_is_not_stored(
    admin: httpx.Client, anna: dict[str, Any]
) -> None:
    headers = {"Idempotency-Key": "retry-me"}
    clash = {"email": anna["email"], "name": "Clash"}

    first = admin.post("/api/v2/users", json=clash, headers=headers)
    admin.delete(f"/api/v2/users/{anna['id']}")
    second = admin.post("/api/v2/users", json=clash, headers=headers)

    assert first.status_code == 409
    assert second.status_code == 201


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\there", "ünï"])
def test_invalid_idempotency_key_is_400(admin: httpx.Client, key: str) -> None:
    response = admin.post(
        "/api/v2/users",
        json={"email": "a@example.org", "name": "A"},
        headers={"Idempotency-Key": key.encode()},
    )

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert user_count(admin) == 0


def test_deactivate_and_reactivate(admin: httpx.Client, anna: dict[str, Any]) -> None:
    off = admin.post(f"/api/v2/users/{anna['id']}/deactivate")
    listed = admin.get("/api/v2/users", params={"status": "deactivated"}).json()
    fetched = admin.get(f"/api/v2/users/{anna['id']}").json()
    on = admin.post(f"/api/v2/users/{anna['id']}/reactivate")

    assert off.status_code == 200
    assert off.json()["status"] == "deactivated"
    assert off.json()["user_status"] == "deactivated"
    assert [u["id"] for u in listed["items"]] == [anna["id"]]
    assert fetched["status"] == "deactivated"
    assert on.json()["status"] == "active"


def test_deactivated_user_is_still_listed(
    admin: httpx.Client, anna: dict[str, Any]
) -> None:
    admin.post(f"/api/v2/users/{anna['id']}/deactivate")

    listed = admin.get("/api/v2/users").json()["items"]

    assert [u["id"] for u in listed] == [anna["id"]]


def test_deactivate_honours_if_match(admin: httpx.Client, anna: dict[str, Any]) -> None:
    response = admin.post(
        f"/api/v2/users/{anna['id']}/deactivate", headers={"If-Match": '"5"'}
    )

    assert response.status_code == 412
    assert admin.get(f"/api/v2/users/{anna['id']}").json()["status"] == "active"


def test_delete_removes_user_everywhere(
    admin: httpx.Client, anna: dict[str, Any]
) -> None:
    team = create_group(admin, "team")
    other = create_user(admin, "other@example.org", "Other")
    add_member(admin, team["id"], anna["id"])
    add_member(admin, team["id"], other["id"], "maintainer")

    response = admin.delete(f"/api/v2/users/{anna['id']}")
    members = admin.get(f"/api/v2/groups/{team['id']}/members").json()
    group = admin.get(f"/api/v2/groups/{team['id']}").json()
    everyone = admin.get("/api/v2/groups/everyone").json()
    listed = admin.get("/api/v2/users").json()

    assert response.status_code == 204
    assert admin.get(f"/api/v2/users/{anna['id']}").status_code == 404
    assert [m["id"] for m in members["items"]] == [other["id"]]
    assert members["total"] == 1
    assert group["member_count"] == 1
    assert everyone["member_count"] == 1
    assert [u["id"] for u in listed["items"]] == [other["id"]]
    assert listed["items"][0]["groups"] == [team["id"]]


def test_delete_twice_is_404(admin: httpx.Client, anna: dict[str, Any]) -> None:
    admin.delete(f"/api/v2/users/{anna['id']}")

    response = admin.delete(f"/api/v2/users/{anna['id']}")

    assert response.status_code == 404
    assert error_code(response) == "user_not_found"


def test_user_groups_lists_roles(admin: httpx.Client, anna: dict[str, Any]) -> None:
    alpha = create_group(admin, "alpha")
    beta = create_group(admin, "beta")
    add_member(admin, alpha["id"], anna["id"], "maintainer")
    add_member(admin, beta["id"], anna["id"])

    body = admin.get(f"/api/v2/users/{anna['id']}/groups").json()
    second = admin.get(f"/api/v2/users/{anna['id']}/groups", params={"limit": 1})

    assert [(g["name"], g["role"]) for g in body["items"]] == [
        ("alpha", "maintainer"),
        ("beta", "member"),
    ]
    assert body["total"] == 2
    assert body["items"][0]["member_count"] == 1
    assert second.json()["has_more"] is True
    assert sorted(admin.get(f"/api/v2/users/{anna['id']}").json()["groups"]) == sorted(
        [alpha["id"], beta["id"]]
    )


WRITES = [
    ("POST", "/api/v2/users", {"email": "r@example.org", "name": "R"}),
    ("PATCH", "/api/v2/users/{user}", {"name": "Changed"}),
    ("POST", "/api/v2/users/{user}/deactivate", None),
    ("POST", "/api/v2/users/{user}/reactivate", None),
    ("DELETE", "/api/v2/users/{user}", None),
    ("POST", "/api/v2/groups", {"name": "readers"}),
    ("PATCH", "/api/v2/groups/{group}", {"name": "renamed"}),
    ("DELETE", "/api/v2/groups/{group}", None),
    ("PUT", "/api/v2/groups/{group}/members/{user}", {"role": "maintainer"}),
    ("DELETE", "/api/v2/groups/{group}/members/{user}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_reader_key_cannot_write(
    admin: httpx.Client,
    reader: httpx.Client,
    anna: dict[str, Any],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    group = create_group(admin, "team")
    add_member(admin, group["id"], anna["id"])
    before = feed(admin)

    response = reader.request(
        method, path.format(user=anna["id"], group=group["id"]), json=body
    )

    assert response.status_code == 403
    assert error_code(response) == "forbidden"
    assert feed(admin) == before


def test_reader_key_can_read(reader: httpx.Client, admin: httpx.Client) -> None:
    user = create_user(admin, "seen@example.org", "Seen")

    assert reader.get("/api/v2/users").status_code == 200
    assert reader.get(f"/api/v2/users/{user['id']}").status_code == 200
    assert reader.get("/api/v1/manage/groups").status_code == 200
    assert reader.get("/api/v2/changes").status_code == 200
