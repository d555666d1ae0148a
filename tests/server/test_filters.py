"""Filters and sorts of the user and group listings."""

from __future__ import annotations

import uuid
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


@pytest.fixture(scope="module")
def everyone(k8s: httpx.Client) -> list[dict[str, Any]]:
    return walk(k8s, "/api/v2/users", limit=1000)


def sort_key(user: dict[str, Any], field: str) -> tuple[Any, ...]:
    """The order Roster promises: the field (emails and names folded), then id."""
    value = user[field]
    if field == "email":
        value = value.lower()
    elif field == "name":
        value = fold(value)
    return (value, uuid.UUID(user["id"]))


@pytest.mark.parametrize("field", ["email", "name", "created_at", "updated_at"])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_orders_users(
    k8s: httpx.Client, everyone: list[dict[str, Any]], field: str, descending: bool
) -> None:
    sort = f"-{field}" if descending else field
    users = walk(k8s, "/api/v2/users", {"sort": sort}, limit=300)
    expected = sorted(everyone, key=lambda u: sort_key(u, field), reverse=descending)

    assert [u["id"] for u in users] == [u["id"] for u in expected]


@pytest.mark.parametrize("sort", ["mail", "email-", "--name", "NAME", "id"])
def test_unknown_sort_is_400(k8s: httpx.Client, sort: str) -> None:
    response = k8s.get("/api/v2/users", params={"sort": sort})

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert error_message(response).startswith("sort must be one of")


def test_email_filter_ignores_case(k8s: httpx.Client) -> None:
    response = k8s.get(
        "/api/v2/users", params={"email": "AARON.CHRISTENSEN@K8S.example.ORG"}
    )
    body = response.json()

    assert body["total"] == 1
    assert body["items"][0]["email"] == "aaron.christensen@k8s.example.org"


@pytest.mark.parametrize(
    "domain", ["k8s.example.org", "K8S.EXAMPLE.ORG", "@k8s.example.org"]
)
def test_email_domain_filter(k8s: httpx.Client, domain: str) -> None:
    body = k8s.get("/api/v2/users", params={"email_domain": domain}).json()

    assert body["total"] == 1276


def test_email_domain_is_whole_domain(k8s: httpx.Client) -> None:
    body = k8s.get("/api/v2/users", params={"email_domain": "example.org"}).json()

    assert body["total"] == 0


def test_status_filter(k8s: httpx.Client) -> None:
    active = k8s.get("/api/v2/users", params={"status": "active"}).json()
    invited = k8s.get("/api/v2/users", params={"status": "invited"}).json()

    assert active["total"] == 1276
    assert invited["total"] == 0


def test_invalid_status_is_400(k8s: httpx.Client) -> None:
    response = k8s.get("/api/v2/users", params={"status": "asleep"})

    assert response.status_code == 400
    assert "status" in error_message(response)


@pytest.mark.parametrize("needle", ["an", "AN", "Garza", "欢", "ü", "van "])
def test_name_contains_matches_csv(
    k8s: httpx.Client, everyone: list[dict[str, Any]], needle: str
) -> None:
    users = walk(k8s, "/api/v2/users", {"name_contains": needle}, limit=50)
    expected = [u["id"] for u in everyone if fold(needle) in fold(u["name"])]

    assert [u["id"] for u in users] == expected
    assert len(users) > 0


@pytest.fixture
def named(admin: httpx.Client) -> dict[str, str]:
    names = {
        "änne": "Änne Müller",
        "straße": "Hans Straße",
        "cjk": "郭欢欢",
        "percent": "100% Real",
        "underscore": "snake_case",
        "plain": "Plain Person",
        "backslash": "back\\slash",
        "greek": "ΣΊΣΥΦΟΣ",
    }
    return {
        key: create_user(admin, f"{key}@example.org", name)["id"]
        for key, name in names.items()
    }


@pytest.mark.parametrize(
    ("needle", "keys"),
    [
        ("ÄNNE", ["änne"]),
        ("änne", ["änne"]),
        ("STRASSE", ["straße"]),
        ("欢欢", ["cjk"]),
        ("%", ["percent"]),
        ("0% r", ["percent"]),
        ("_", ["underscore"]),
        ("e_c", ["underscore"]),
        ("\\", ["backslash"]),
        ("σίσυφος", ["greek"]),
        # "PLAIN" in full-width letters, which NFKC maps to ASCII.
        ("\uff30\uff2c\uff21\uff29\uff2e", ["plain"]),
        ("nobody", []),
    ],
)
def test_name_contains_folds_case(
    admin: httpx.Client, named: dict[str, str], needle: str, keys: list[str]
) -> None:
    body = admin.get("/api/v2/users", params={"name_contains": needle}).json()

    assert sorted(u["id"] for u in body["items"]) == sorted(named[k] for k in keys)
    assert body["total"] == len(keys)


def test_group_filter_by_name_and_id(k8s: httpx.Client) -> None:
    expected = sorted(
        email
        for (group, email) in example_memberships()
        if group == "milestone-maintainers"
    )
    group_id = k8s.get("/api/v2/groups/milestone-maintainers").json()["id"]

    by_name = walk(k8s, "/api/v2/users", {"group": "milestone-maintainers"}, limit=50)
    by_id = walk(k8s, "/api/v2/users", {"group": group_id}, limit=50)

    assert [u["email"] for u in by_name] == expected
    assert [u["email"] for u in by_id] == expected


def test_group_filter_everyone_is_everybody(k8s: httpx.Client) -> None:
    body = k8s.get("/api/v2/users", params={"group": "everyone"}).json()

    assert body["total"] == 1276


def test_unknown_group_filter_is_404(k8s: httpx.Client) -> None:
    response = k8s.get("/api/v2/users", params={"group": "no-such-team"})

    assert response.status_code == 404
    assert error_code(response) == "group_not_found"


def test_filters_combine_with_paging(
    k8s: httpx.Client, everyone: list[dict[str, Any]]
) -> None:
    params = {"name_contains": "ar", "status": "active", "sort": "-name"}
    expected = [
        u["id"]
        for u in sorted(everyone, key=lambda u: sort_key(u, "name"), reverse=True)
        if "ar" in fold(u["name"])
    ]

    first = k8s.get("/api/v2/users", params={**params, "limit": 7, "page": 3}).json()
    users = walk(k8s, "/api/v2/users", params, limit=7)

    assert first["total"] == len(expected)
    assert [u["id"] for u in first["items"]] == expected[14:21]
    assert [u["id"] for u in users] == expected


def test_group_and_name_filters_combine(k8s: httpx.Client) -> None:
    members = walk(k8s, "/api/v2/users", {"group": "release-team"}, limit=100)
    expected = [u["id"] for u in members if "a" in fold(u["name"])]

    body = k8s.get(
        "/api/v2/users",
        params={"group": "release-team", "name_contains": "A", "limit": 1000},
    ).json()

    assert body["total"] == len(expected)
    assert [u["id"] for u in body["items"]] == expected


def test_created_since_includes_boundary(admin: httpx.Client) -> None:
    users = [create_user(admin, f"u{i}@example.org", f"U{i}") for i in range(3)]

    body = admin.get(
        "/api/v2/users", params={"created_since": users[1]["created_at"]}
    ).json()

    assert sorted(u["id"] for u in body["items"]) == sorted(u["id"] for u in users[1:])


def test_updated_since_finds_changed_users(admin: httpx.Client) -> None:
    users = [create_user(admin, f"u{i}@example.org", f"U{i}") for i in range(3)]
    changed = admin.patch(f"/api/v2/users/{users[0]['id']}", json={"name": "New"})

    body = admin.get(
        "/api/v2/users", params={"updated_since": changed.json()["updated_at"]}
    ).json()

    assert [u["id"] for u in body["items"]] == [users[0]["id"]]


def test_timestamp_filter_accepts_offsets(admin: httpx.Client) -> None:
    create_user(admin, "u@example.org", "U")

    past = admin.get(
        "/api/v2/users", params={"created_since": "2000-01-01T01:00:00+01:00"}
    )
    future = admin.get(
        "/api/v2/users", params={"created_since": "9999-12-31T23:59:59Z"}
    )

    assert past.json()["total"] == 1
    assert future.json()["total"] == 0


@pytest.mark.parametrize("name", ["created_since", "updated_since"])
@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-01-31",
        "2026-01-31T09:00:00",
        "2026-13-01T00:00:00Z",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
        "2026-01-31T09:00:00\x00Z",
    ],
)
def test_invalid_timestamp_is_400(admin: httpx.Client, name: str, value: str) -> None:
    response = admin.get("/api/v2/users", params={name: value})

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert error_message(response).startswith(f"{name} must be an RFC 3339 timestamp")


@pytest.mark.parametrize("name", ["email", "email_domain", "name_contains", "group"])
def test_control_characters_in_filter_are_400(admin: httpx.Client, name: str) -> None:
    response = admin.get("/api/v2/users", params={name: "a\x00b"})

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert name in error_message(response)


def test_group_name_filter_folds_case(k8s: httpx.Client) -> None:
    expected = sorted(
        row["name"] for row in read_csv("groups.csv") if "sig" in row["name"].lower()
    )

    groups = walk(k8s, "/api/v2/groups", {"name_contains": "SIG"}, limit=50)

    assert sorted(g["name"] for g in groups) == expected


@pytest.mark.parametrize(("value", "count"), [("true", 2), ("false", 284)])
def test_group_system_filter(k8s: httpx.Client, value: str, count: int) -> None:
    paged = k8s.get("/api/v2/groups", params={"system": value}).json()
    listed = k8s.get("/api/v1/manage/groups", params={"system": value}).json()

    assert paged["total"] == count
    assert len(listed) == count
    assert {g["system"] for g in listed} == {value == "true"}


def test_invalid_system_filter_is_400(k8s: httpx.Client) -> None:
    response = k8s.get("/api/v2/groups", params={"system": "sometimes"})

    assert response.status_code == 400
    assert "system" in error_message(response)


def test_group_parent_filter(k8s: httpx.Client) -> None:
    rows = read_csv("groups.csv")
    parent = next(row["parent"] for row in rows if row["parent"])
    expected = sorted(row["name"] for row in rows if row["parent"] == parent)
    parent_id = k8s.get(f"/api/v2/groups/{parent}").json()["id"]

    by_name = k8s.get("/api/v2/groups", params={"parent": parent}).json()
    by_id = k8s.get("/api/v1/manage/groups", params={"parent": parent_id}).json()

    assert sorted(g["name"] for g in by_name["items"]) == expected
    assert sorted(g["name"] for g in by_id) == expected


@pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-updated_at"])
def test_group_sorts(admin: httpx.Client, sort: str) -> None:
    for name in ["beta", "Alpha", "gamma", "Ärger"]:
        create_group(admin, name)
    field = sort.removeprefix("-")

    groups = walk(admin, "/api/v2/groups", {"sort": sort}, limit=2)
    expected = sorted(
        groups,
        key=lambda g: (
            fold(g[field]) if field == "name" else g[field],
            uuid.UUID(g["id"]),
        ),
        reverse=sort.startswith("-"),
    )

    assert len(groups) == 6
    assert [g["id"] for g in groups] == [g["id"] for g in expected]
