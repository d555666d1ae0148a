"""The listings existing clients call: fields, paging and parameter errors."""

from __future__ import annotations

import math
import unicodedata
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from server_helpers import (
    create_group,
    create_user,
    error_code,
    error_message,
    example_memberships,
    read_csv,
    walk,
)

from roster.store.validation import fold

USER_COUNT = 1276
GROUP_COUNT = 284 + 2


def assert_uuid(value: Any) -> None:
    assert isinstance(value, str)
    assert str(uuid.UUID(value)) == value


def assert_timestamp(value: Any) -> None:
    assert isinstance(value, str)
    assert value.endswith("Z")
    assert datetime.fromisoformat(value).tzinfo is not None


@pytest.fixture(scope="module")
def csv_users() -> dict[str, dict[str, str]]:
    return {row["email"]: row for row in read_csv("users.csv")}


@pytest.fixture(scope="module")
def all_groups(k8s: httpx.Client) -> dict[str, dict[str, Any]]:
    response = k8s.get("/api/v1/manage/groups")
    assert response.status_code == 200
    return {g["name"]: g for g in response.json()}


def test_users_have_every_wire_field(
    k8s: httpx.Client,
    csv_users: dict[str, dict[str, str]],
    all_groups: dict[str, dict[str, Any]],
) -> None:
    users = walk(k8s, "/api/v2/users", limit=1000)
    group_names = {g["uuid"]: name for name, g in all_groups.items()}
    memberships = example_memberships()

    assert len(users) == USER_COUNT
    for user in users:
        assert_uuid(user["id"])
        assert user["uuid"] == user["id"]
        assert user["_id"] == user["id"]
        row = csv_users[user["email"]]
        assert user["name"] == row["name"]
        assert user["status"] == row["status"]
        assert user["user_status"] == user["status"]
        assert "image" in user
        assert user["image"] is None
        assert_timestamp(user["created_at"])
        assert_timestamp(user["updated_at"])
        expected = {g for (g, email) in memberships if email == user["email"]}
        assert {group_names[g] for g in user["groups"]} == expected
        assert len(user["groups"]) == len(expected)


def test_v1_groups_have_every_wire_field(
    all_groups: dict[str, dict[str, Any]],
) -> None:
    memberships = example_memberships()
    descriptions = {row["name"]: row["description"] for row in read_csv("groups.csv")}

    assert len(all_groups) == GROUP_COUNT
    for name, group in all_groups.items():
        assert_uuid(group["uuid"])
        assert group["id"] == group["uuid"]
        assert isinstance(group["system"], bool)
        assert_timestamp(group["created_at"])
        assert isinstance(group["member_count"], int)
        if group["system"]:
            continue
        assert group["description"] == descriptions[name]
        expected_count = sum(1 for (g, _email) in memberships if g == name)
        assert group["member_count"] == expected_count


def test_v1_groups_list_system_groups_first(k8s: httpx.Client) -> None:
    groups = k8s.get("/api/v1/manage/groups").json()
    names = [g["name"] for g in groups]

    assert names[:2] == ["admins", "everyone"]
    assert names[2:] == sorted(names[2:], key=fold)


def test_system_groups_are_flagged(all_groups: dict[str, dict[str, Any]]) -> None:
    assert all_groups["admins"]["system"] is True
    assert all_groups["everyone"]["system"] is True
    assert all_groups["everyone"]["member_count"] == USER_COUNT
    custom = [g for name, g in all_groups.items() if name not in ("admins", "everyone")]
    assert len(custom) == 284
    assert not any(g["system"] for g in custom)


def test_v2_groups_page_has_every_field(k8s: httpx.Client) -> None:
    response = k8s.get("/api/v2/groups", params={"limit": 10})
    body = response.json()

    assert response.status_code == 200
    assert body["total"] == GROUP_COUNT
    assert body["pages"] == math.ceil(GROUP_COUNT / 10)
    assert len(body["items"]) == 10
    for group in body["items"]:
        for field in ("id", "uuid", "name", "description", "system", "parent_id"):
            assert field in group
        assert isinstance(group["member_count"], int)
        assert_timestamp(group["created_at"])


def test_v2_groups_walk_returns_each_group_once(k8s: httpx.Client) -> None:
    groups = walk(k8s, "/api/v2/groups", limit=13)
    nested = [g for g in groups if g["parent_id"] is not None]

    assert len(groups) == GROUP_COUNT
    assert len({g["id"] for g in groups}) == GROUP_COUNT
    assert len(nested) == 42


@pytest.mark.parametrize(
    ("limit", "follow_cursor"),
    [
        (100, False),
        (100, True),
        (7, False),
        (1000, False),
        (116, True),
        (638, False),
    ],
)
def test_user_walk_returns_each_user_once(
    k8s: httpx.Client,
    csv_users: dict[str, dict[str, str]],
    limit: int,
    follow_cursor: bool,
) -> None:
    users = walk(k8s, "/api/v2/users", limit=limit, follow_cursor=follow_cursor)
    emails = [u["email"] for u in users]

    assert len(emails) == USER_COUNT
    assert set(emails) == set(csv_users)
    assert emails == sorted(emails, key=str.lower)


@pytest.mark.parametrize("limit", [638, 116])
def test_last_page_exactly_full(k8s: httpx.Client, limit: int) -> None:
    pages = USER_COUNT // limit
    response = k8s.get("/api/v2/users", params={"limit": limit, "page": pages})
    body = response.json()

    assert USER_COUNT % limit == 0
    assert len(body["items"]) == limit
    assert body["has_more"] is False
    assert body["next_cursor"] is not None
    assert body["pages"] == pages
    assert body["total"] == USER_COUNT


def test_page_metadata_on_every_page(k8s: httpx.Client) -> None:
    for page in (1, 7, 13):
        body = k8s.get("/api/v2/users", params={"limit": 100, "page": page}).json()
        assert body["page"] == page
        assert body["limit"] == 100
        assert body["total"] == USER_COUNT
        assert body["pages"] == 13
        assert body["has_more"] is (page < 13)
        assert body["next_cursor"] is not None


def test_page_past_end_is_empty(k8s: httpx.Client) -> None:
    response = k8s.get("/api/v2/users", params={"limit": 100, "page": 14})
    body = response.json()

    assert response.status_code == 200
    assert body["items"] == []
    assert body["total"] == USER_COUNT
    assert body["has_more"] is False
    assert body["next_cursor"] is None


def test_cursor_of_last_page_gives_empty_page(k8s: httpx.Client) -> None:
    last = k8s.get("/api/v2/users", params={"limit": 100, "page": 13}).json()

    response = k8s.get(
        "/api/v2/users",
        params={"limit": 100, "page": 14, "cursor": last["next_cursor"]},
    )
    body = response.json()

    assert response.status_code == 200
    assert body["items"] == []
    assert body["has_more"] is False
    assert body["next_cursor"] is None


def test_page_far_past_end_is_empty(k8s: httpx.Client) -> None:
    response = k8s.get("/api/v2/users", params={"limit": 1000, "page": 10_000_000})

    assert response.status_code == 200
    assert response.json()["items"] == []


def test_limit_none_means_default(k8s: httpx.Client) -> None:
    response = k8s.get("/api/v2/users?limit=None&page=1")
    body = response.json()

    assert response.status_code == 200
    assert body["limit"] == 100
    assert len(body["items"]) == 100


def test_no_paging_parameters_mean_defaults(k8s: httpx.Client) -> None:
    body = k8s.get("/api/v2/users").json()

    assert body["limit"] == 100
    assert body["page"] == 1
    assert len(body["items"]) == 100


INVALID_PAGING = [
    ("limit", "0"),
    ("limit", "-5"),
    ("limit", "abc"),
    ("limit", "1.5"),
    ("limit", "1" * 40),
    ("limit", ""),
    ("limit", "1001"),
    ("limit", "+-5"),
    ("limit", "1e3"),
    ("limit", "٣"),
    ("limit", "none"),
    ("page", "0"),
    ("page", "-1"),
    ("page", "abc"),
    ("page", ""),
    ("page", "None"),
    ("page", "2" * 40),
]


@pytest.mark.parametrize("path", ["/api/v2/users", "/api/v2/groups", "/api/v2/audit"])
@pytest.mark.parametrize(("name", "value"), INVALID_PAGING)
def test_invalid_paging_parameter_is_400(
    k8s: httpx.Client, path: str, name: str, value: str
) -> None:
    response = k8s.get(path, params={name: value})

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    message = error_message(response)
    assert message.startswith(f"{name} must be a whole number from 1 to ")
    assert repr(value) in message


def test_invalid_limit_names_its_range(k8s: httpx.Client) -> None:
    response = k8s.get("/api/v2/users", params={"limit": "abc"})

    assert "from 1 to 1000" in error_message(response)


def test_limit_bounds_are_accepted(k8s: httpx.Client) -> None:
    smallest = k8s.get("/api/v2/users", params={"limit": "1"})
    largest = k8s.get("/api/v2/users", params={"limit": "1000"})

    assert len(smallest.json()["items"]) == 1
    assert len(largest.json()["items"]) == 1000


def test_member_listing_rejects_invalid_limit(k8s: httpx.Client) -> None:
    response = k8s.get("/api/v2/groups/everyone/members", params={"limit": "0"})

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"


UNICODE_NAMES = [
    "郭欢",
    "Zoë Ångström",
    "👩🏽‍💻 Dev Ops 🚀",
    "שלום עולם",
    "مرحبا بالعالم",
    "e\u0301cole",
    "A\u030a\u0327 stacked marks",
    "\u202eright-to-left override",
    "Straße",
]


@pytest.mark.parametrize("name", UNICODE_NAMES)
def test_unicode_user_name_round_trips(admin: httpx.Client, name: str) -> None:
    created = create_user(admin, f"{uuid.uuid4().hex[:8]}@example.org", name)
    fetched = admin.get(f"/api/v2/users/{created['id']}").json()
    listed = admin.get("/api/v2/users").json()["items"]

    assert created["name"] == name
    assert fetched["name"] == name
    assert [u["name"] for u in listed] == [name]


# Group names may not contain format characters (Unicode category Cf), such as
# the zero-width joiner of the emoji and the right-to-left override.
UNICODE_GROUP_NAMES = [
    name
    for name in UNICODE_NAMES
    if not any(unicodedata.category(char) == "Cf" for char in name)
]


@pytest.mark.parametrize("name", UNICODE_GROUP_NAMES)
def test_unicode_group_name_round_trips(admin: httpx.Client, name: str) -> None:
    created = create_group(admin, name, description=name * 2)
    fetched = admin.get(f"/api/v2/groups/{created['id']}").json()
    by_name = admin.get(f"/api/v2/groups/{name}")

    assert fetched["name"] == name
    assert fetched["description"] == name * 2
    assert by_name.status_code == 200
    assert by_name.json()["id"] == created["id"]
