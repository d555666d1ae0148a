"""Query parameters: length limits of filters and repeated parameters."""

from __future__ import annotations

import httpx
import pytest
from server_helpers import create_user, error_code, error_message

from roster.server import params
from roster.server.errors import ApiError

LENGTH_LIMITS = [
    ("/api/v2/users", "name_contains", 256),
    ("/api/v2/users", "email", 320),
    ("/api/v2/users", "email_domain", 320),
    ("/api/v2/users", "group", 128),
    ("/api/v2/groups", "name_contains", 128),
    ("/api/v2/groups", "parent", 128),
    ("/api/v1/manage/groups", "name_contains", 128),
    ("/api/v1/manage/groups", "parent", 128),
]


@pytest.mark.parametrize(("path", "name", "maximum"), LENGTH_LIMITS)
def test_filter_over_maximum_is_400(
    admin: httpx.Client, path: str, name: str, maximum: int
) -> None:
    response = admin.get(path, params={name: "é" * (maximum + 1)})

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert error_message(response) == (
        f"{name} is {maximum + 1} characters long; the maximum is {maximum}"
    )


@pytest.mark.parametrize(("path", "name", "maximum"), LENGTH_LIMITS)
def test_filter_at_maximum_is_accepted(
    admin: httpx.Client, path: str, name: str, maximum: int
) -> None:
    response = admin.get(path, params={name: "x" * maximum})

    # A group reference this long names no group, which is a 404.
    assert response.status_code in (200, 404)
    if response.status_code == 404:
        assert error_code(response) == "group_not_found"


def test_longest_name_filter_finds_user(admin: httpx.Client) -> None:
    # Each "ﷺ" folds to 18 characters, so the folded pattern is far longer than
    # the 256 characters of the filter; SQLite's LIKE accepts it.
    name = "ﷺ" * 14
    user = create_user(admin, "long@example.org", name)

    response = admin.get("/api/v2/users", params={"name_contains": name})

    assert response.status_code == 200
    assert [u["id"] for u in response.json()["items"]] == [user["id"]]


REPEATABLE = [
    ("/api/v2/users", "status", ["active", "invited"]),
    ("/api/v2/users", "limit", ["1", "2"]),
    ("/api/v2/users", "email", ["a@example.org", "a@example.org"]),
    ("/api/v2/users/someone@example.org", "x", ["1", "2"]),
    ("/api/v2/users/someone@example.org/groups", "page", ["1", "1"]),
    ("/api/v2/groups", "sort", ["name", "-name"]),
    ("/api/v2/groups/everyone", "q", ["1", "2"]),
    ("/api/v2/groups/everyone/members", "transitive", ["true", "false"]),
    ("/api/v1/manage/groups", "system", ["true", "false"]),
    ("/api/v2/changes", "after", ["0", "5"]),
    ("/api/v2/audit", "limit", ["10", "20"]),
]


@pytest.mark.parametrize(("path", "name", "values"), REPEATABLE)
def test_repeated_parameter_is_400(
    admin: httpx.Client, path: str, name: str, values: list[str]
) -> None:
    response = admin.get(path, params=[(name, value) for value in values])

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert error_message(response).startswith(f"{name} is given 2 times")


def test_repeated_parameter_on_write_is_400(admin: httpx.Client) -> None:
    response = admin.post(
        "/api/v2/users",
        params=[("x", "1"), ("x", "2")],
        json={"email": "a@example.org", "name": "A"},
    )

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert admin.get("/api/v2/users").json()["total"] == 0


def test_distinct_parameters_are_accepted(admin: httpx.Client) -> None:
    create_user(admin, "a@example.org", "A", status="invited")

    response = admin.get(
        "/api/v2/users", params={"status": "invited", "email": "a@example.org"}
    )

    assert response.status_code == 200
    assert response.json()["total"] == 1


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb"])
def test_parse_text_rejects_lone_surrogate(value: str) -> None:
    # Starlette parses query strings with urllib's parse_qsl, which decodes a
    # percent-encoded surrogate to U+FFFD, so HTTP requests cannot reach this.
    with pytest.raises(ApiError) as failure:
        params.parse_text("name_contains", value, max_length=256)

    assert failure.value.status == 400
    assert failure.value.code == "invalid_parameter"
    assert failure.value.message.startswith("name_contains contains a lone surrogate")
