"""API keys, request ids and the walls between organisations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from server_helpers import (
    OrgKeys,
    add_member,
    client,
    create_group,
    create_user,
    error_code,
    new_org,
)

from roster.store.orgs import create_key, get_org, revoke_key


def without_request_id(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    body["error"].pop("request_id")
    return body


@pytest.fixture
def revoked_key(org: Any) -> str:
    with org.db.write() as session:
        record = get_org(session, org.name)
        key = create_key(session, record, "soon-revoked", "admin")
        revoke_key(session, record, "soon-revoked")
    return key.secret


def test_unauthenticated_responses_are_identical(
    server: Any, org: Any, revoked_key: str
) -> None:
    headers: list[dict[str, str]] = [
        {},
        {"Authorization": ""},
        {"Authorization": "UserKey"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "UserKey not-a-key"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": f"UserKey rst_{'x' * 43}"},
        {"Authorization": f"Bearer rst_{'x' * 43}"},
        {"Authorization": f"UserKey {'k' * 5000}"},
        {"Authorization": f"UserKey {revoked_key}"},
        {"Authorization": f"Bearer {revoked_key}"},
        {"Authorization": f"Token {org.api_key}"},
    ]
    with httpx.Client(base_url=server.url) as http:
        responses = [http.get("/api/v2/users", headers=h) for h in headers]

    expected = without_request_id(responses[0])
    assert expected["error"]["code"] == "unauthenticated"
    for response in responses:
        assert response.status_code == 401
        assert without_request_id(response) == expected
        assert "UserKey" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("scheme", ["UserKey", "Bearer", "userkey", "BEARER"])
def test_both_schemes_accept_a_key(org: Any, scheme: str) -> None:
    with client(org.url, org.api_key, scheme) as http:
        response = http.get("/api/v2/users")

    assert response.status_code == 200


def test_revoked_key_is_rejected_on_writes(org: Any, revoked_key: str) -> None:
    with client(org.url, revoked_key) as http:
        response = http.post("/api/v2/users", json={"email": "a@b.org", "name": "A"})

    assert response.status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/users",
        "/api/v2/users/nobody@example.org",
        "/api/v2/nowhere",
        "/healthz",
    ],
)
def test_every_response_has_request_id(admin: httpx.Client, path: str) -> None:
    response = admin.get(path)

    assert len(response.headers["X-Request-ID"]) >= 16


def test_unauthenticated_response_has_request_id(server: Any) -> None:
    response = httpx.get(f"{server.url}/api/v2/users")
    body = response.json()

    assert body["error"]["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize(
    "request_id", ["abc", "trace-1.2_3", "A" * 128, "0b6d2f0c9e1f4d9aa0b1"]
)
def test_client_request_id_is_echoed(admin: httpx.Client, request_id: str) -> None:
    ok = admin.get("/api/v2/users", headers={"X-Request-ID": request_id})
    missing = admin.get(
        "/api/v2/users/nobody@example.org", headers={"X-Request-ID": request_id}
    )

    assert ok.headers["X-Request-ID"] == request_id
    assert missing.headers["X-Request-ID"] == request_id
    assert missing.json()["error"]["request_id"] == request_id


@pytest.mark.parametrize(
    "request_id", ["", "has space", "A" * 129, "semi;colon", "ünïcode"]
)
def test_invalid_request_id_is_replaced(admin: httpx.Client, request_id: str) -> None:
    response = admin.get(
        "/api/v2/users", headers={"X-Request-ID": request_id.encode("utf-8")}
    )

    assert response.headers["X-Request-ID"] != request_id
    assert len(response.headers["X-Request-ID"]) == 32


def test_request_ids_differ_between_requests(admin: httpx.Client) -> None:
    first = admin.get("/api/v2/users").headers["X-Request-ID"]
    second = admin.get("/api/v2/users").headers["X-Request-ID"]

    assert first != second


class OtherOrg:
    """A second organisation with a user, a nested group and a membership."""

    def __init__(self, http: httpx.Client, keys: OrgKeys) -> None:
        self.http = http
        self.keys = keys
        self.user = create_user(http, "hidden@other.example", "Hidden Person")
        self.parent = create_group(http, "hidden-parent")
        self.group = create_group(http, "hidden-team", parent_id=self.parent["id"])
        add_member(http, self.group["id"], self.user["id"], "maintainer")


@pytest.fixture
def other(server: Any) -> Iterator[OtherOrg]:
    keys = new_org(server.db, "other")
    with client(server.url, keys.api_key) as http:
        yield OtherOrg(http, keys)


def test_other_org_users_are_not_listed(admin: httpx.Client, other: OtherOrg) -> None:
    create_user(admin, "mine@example.org", "Mine")
    emails = [u["email"] for u in admin.get("/api/v2/users").json()["items"]]
    filtered = admin.get("/api/v2/users", params={"email": other.user["email"]})

    assert emails == ["mine@example.org"]
    assert filtered.json()["total"] == 0


def test_other_org_groups_are_not_listed(admin: httpx.Client, other: OtherOrg) -> None:
    v1 = [g["name"] for g in admin.get("/api/v1/manage/groups").json()]
    v2 = [g["name"] for g in admin.get("/api/v2/groups").json()["items"]]

    assert v1 == ["admins", "everyone"]
    assert sorted(v2) == ["admins", "everyone"]


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/api/v2/users/{user_id}", "user_not_found"),
        ("GET", "/api/v2/users/{user_email}", "user_not_found"),
        ("GET", "/api/v2/users/{user_id}/groups", "user_not_found"),
        ("PATCH", "/api/v2/users/{user_id}", "user_not_found"),
        ("POST", "/api/v2/users/{user_id}/deactivate", "user_not_found"),
        ("DELETE", "/api/v2/users/{user_id}", "user_not_found"),
        ("GET", "/api/v2/groups/{group_id}", "group_not_found"),
        ("GET", "/api/v2/groups/{group_name}", "group_not_found"),
        ("GET", "/api/v2/groups/{group_id}/members", "group_not_found"),
        ("PATCH", "/api/v2/groups/{group_id}", "group_not_found"),
        ("DELETE", "/api/v2/groups/{group_id}", "group_not_found"),
        ("PUT", "/api/v2/groups/{group_id}/members/{user_id}", "group_not_found"),
        ("PUT", "/api/v2/groups/admins/members/{user_id}", "user_not_found"),
        ("DELETE", "/api/v2/groups/{group_id}/members/{user_id}", "group_not_found"),
        ("GET", "/api/v2/users?group={group_id}", "group_not_found"),
        ("GET", "/api/v2/groups?parent={parent_id}", "group_not_found"),
    ],
)
def test_other_org_resources_are_not_found(
    admin: httpx.Client, other: OtherOrg, method: str, path: str, code: str
) -> None:
    url = path.format(
        user_id=other.user["id"],
        user_email=other.user["email"],
        group_id=other.group["id"],
        group_name=other.group["name"],
        parent_id=other.parent["id"],
    )
    body = {"name": "x"} if method == "PATCH" else {}
    response = admin.request(method, url, json=body if method in "PATCH PUT" else None)

    assert response.status_code == 404
    assert error_code(response) == code


def test_other_org_parent_cannot_be_used(admin: httpx.Client, other: OtherOrg) -> None:
    response = admin.post(
        "/api/v2/groups", json={"name": "child", "parent_id": other.parent["id"]}
    )

    assert response.status_code == 404
    assert error_code(response) == "group_not_found"


def test_other_org_resources_unchanged(admin: httpx.Client, other: OtherOrg) -> None:
    admin.delete(f"/api/v2/users/{other.user['id']}")
    admin.delete(f"/api/v2/groups/{other.group['id']}")
    admin.patch(f"/api/v2/users/{other.user['id']}", json={"name": "Changed"})

    user = other.http.get(f"/api/v2/users/{other.user['id']}")
    group = other.http.get(f"/api/v2/groups/{other.group['id']}")
    assert user.json()["name"] == "Hidden Person"
    assert group.status_code == 200


def test_changes_and_audit_hold_only_own_org(
    admin: httpx.Client, other: OtherOrg
) -> None:
    create_user(admin, "mine@example.org", "Mine")
    changes = admin.get("/api/v2/changes").json()["items"]
    audit = admin.get("/api/v2/audit").json()
    other_ids = {other.user["id"], other.group["id"], other.parent["id"]}

    assert [c["type"] for c in changes] == ["user.created"]
    assert audit["total"] == 1
    assert not other_ids & {c["resource_id"] for c in changes}
    assert not other_ids & {c["resource_id"] for c in audit["items"]}


def test_same_email_allowed_in_two_orgs(admin: httpx.Client, other: OtherOrg) -> None:
    response = admin.post(
        "/api/v2/users", json={"email": other.user["email"], "name": "Twin"}
    )

    assert response.status_code == 201


def test_same_group_name_allowed_in_two_orgs(
    admin: httpx.Client, other: OtherOrg
) -> None:
    response = admin.post("/api/v2/groups", json={"name": other.group["name"]})

    assert response.status_code == 201


def test_random_ids_are_not_found(admin: httpx.Client) -> None:
    user = admin.get(f"/api/v2/users/{uuid.uuid4()}")
    group = admin.get(f"/api/v2/groups/{uuid.uuid4()}")

    assert error_code(user) == "user_not_found"
    assert error_code(group) == "group_not_found"
