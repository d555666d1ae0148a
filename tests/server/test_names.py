"""Checks of names and text fields: group name rules, Unicode expansion under
normalisation and lone surrogates."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from server_helpers import create_group, create_user, error_code, error_message


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (".", "path segment"),
        ("..", "path segment"),
        ("team/ops", "'/'"),
        ("/", "'/'"),
        (" ops", "whitespace"),
        ("ops ", "whitespace"),
        ("ops\u3000", "whitespace"),
        ("zero\u200bwidth", "U+200B"),
        ("soft\u00adhyphen", "U+00AD"),
        ("\u202eevil", "U+202E"),
        ("join\u200ded", "U+200D"),
        ("mark\ufeff", "U+FEFF"),
    ],
)
def test_invalid_group_name_is_400(admin: httpx.Client, name: str, reason: str) -> None:
    group = create_group(admin, "valid")

    created = admin.post("/api/v2/groups", json={"name": name})
    renamed = admin.patch(f"/api/v2/groups/{group['id']}", json={"name": name})

    for response in (created, renamed):
        assert response.status_code == 400
        assert error_code(response) == "invalid_body"
        assert error_message(response).startswith("name ")
        assert reason in error_message(response)
    assert admin.get("/api/v2/groups").json()["total"] == 3


@pytest.mark.parametrize(
    "name",
    ["\u0915\u094d\u200d\u0937", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"],
    ids=["zwj-devanagari", "zwnj-persian"],
)
def test_user_name_keeps_joiners(admin: httpx.Client, name: str) -> None:
    created = create_user(admin, "joiner@example.org", name)

    assert created["name"] == name
    assert admin.get(f"/api/v2/users/{created['id']}").json()["name"] == name


@pytest.mark.parametrize(
    ("name", "folded"),
    [("\ufdfa" * 43, 774), ("\u337f" * 200, 800)],
    ids=["arabic-ligature", "square-era-name"],
)
def test_user_name_expanding_beyond_column_is_400(
    admin: httpx.Client, name: str, folded: int
) -> None:
    user = create_user(admin, "short@example.org", "Short")

    created = admin.post("/api/v2/users", json={"email": "x@example.org", "name": name})
    renamed = admin.patch(f"/api/v2/users/{user['id']}", json={"name": name})

    for response in (created, renamed):
        assert response.status_code == 400
        assert error_code(response) == "invalid_body"
        message = error_message(response)
        assert message.startswith("name expands under Unicode normalisation")
        assert f"to {folded} characters" in message
        assert "maximum of 768" in message
    assert admin.get("/api/v2/users").json()["total"] == 1


def test_user_name_expanding_to_column_size_is_kept(admin: httpx.Client) -> None:
    # U+FDFA folds to 18 characters: 42 of them fill 756 of the 768.
    name = "\ufdfa" * 42

    created = create_user(admin, "long@example.org", name)
    found = admin.get("/api/v2/users", params={"name_contains": "\ufdfa"})

    assert created["name"] == name
    assert [u["id"] for u in found.json()["items"]] == [created["id"]]


@pytest.mark.parametrize(
    ("name", "folded"),
    [("\ufdfa" * 22, 396), ("\u337f" * 97, 388)],
    ids=["arabic-ligature", "square-era-name"],
)
def test_group_name_expanding_beyond_column_is_400(
    admin: httpx.Client, name: str, folded: int
) -> None:
    group = create_group(admin, "short")

    created = admin.post("/api/v2/groups", json={"name": name})
    renamed = admin.patch(f"/api/v2/groups/{group['id']}", json={"name": name})

    for response in (created, renamed):
        assert response.status_code == 400
        assert error_code(response) == "invalid_body"
        assert f"to {folded} characters" in error_message(response)
        assert "maximum of 384" in error_message(response)


SURROGATE_BODIES = [
    ("POST", "/api/v2/users", '{"email": "a@example.org", "name": "\\ud800"}', "name"),
    ("POST", "/api/v2/users", '{"email": "\\ud800@example.org", "name": "A"}', "email"),
    (
        "POST",
        "/api/v2/users",
        '{"email": "a@example.org", "name": "A", "image": "x\\udfff"}',
        "image",
    ),
    ("PATCH", "/api/v2/users/{user}", '{"name": "A\\udc00B"}', "name"),
    ("PATCH", "/api/v2/users/{user}", '{"email": "b\\ud800@example.org"}', "email"),
    ("POST", "/api/v2/groups", '{"name": "\\ud800"}', "name"),
    (
        "POST",
        "/api/v2/groups",
        '{"name": "g", "description": "\\udbff"}',
        "description",
    ),
    ("PATCH", "/api/v2/groups/{group}", '{"name": "\\ud800"}', "name"),
    ("PATCH", "/api/v2/groups/{group}", '{"description": "\\ud800"}', "description"),
]


def test_lone_surrogate_in_field_name_is_400(admin: httpx.Client) -> None:
    response = admin.post(
        "/api/v2/users",
        content=b'{"email": "a@example.org", "name": "A", "\\ud800": 1}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert error_code(response) == "invalid_body"
    assert error_message(response).startswith("unknown field(s) \\ud800")


@pytest.mark.parametrize(("method", "path", "content", "field"), SURROGATE_BODIES)
def test_lone_surrogate_in_body_is_400(
    admin: httpx.Client, method: str, path: str, content: str, field: str
) -> None:
    user = create_user(admin, "someone@example.org", "Someone")
    group = create_group(admin, "somegroup")
    url = path.format(user=user["id"], group=group["id"])

    response = admin.request(
        method,
        url,
        content=content.encode(),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert error_code(response) == "invalid_body"
    assert error_message(response).startswith(f"{field} contains a lone surrogate")


@pytest.mark.parametrize("name", ["name_contains", "email", "email_domain", "group"])
def test_percent_encoded_surrogate_in_query_is_not_500(
    admin: httpx.Client, name: str
) -> None:
    # UTF-8 cannot encode a surrogate, so the server decodes these bytes to
    # replacement characters, and the value matches nothing.
    response = admin.get(f"/api/v2/users?{name}=%ED%A0%80")

    assert response.status_code in (200, 404)
    assert response.json().get("total", 0) == 0


def forged_cursor(cursor: str, key: str) -> str:
    """Return ``cursor`` with the string of its sort key replaced by ``key``."""
    padded = cursor + "=" * (-len(cursor) % 4)
    scope, page, values = json.loads(base64.urlsafe_b64decode(padded))
    values[0] = key
    raw = json.dumps([scope, page, values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "sort"),
    [
        ("/api/v2/users", "email"),
        ("/api/v2/users", "name"),
        ("/api/v2/groups", "name"),
        ("/api/v2/groups/everyone/members", "email"),
    ],
)
@pytest.mark.parametrize("key", ["\ud800", "a\x00b"], ids=["surrogate", "nul"])
def test_forged_cursor_string_key_is_400(
    admin: httpx.Client, path: str, sort: str, key: str
) -> None:
    for i in range(2):
        create_user(admin, f"u{i}@example.org", f"U{i}")
        create_group(admin, f"g{i}")
    first = admin.get(path, params={"limit": 1, "sort": sort}).json()
    cursor = forged_cursor(first["next_cursor"], key)

    response = admin.get(
        path, params={"limit": 1, "page": 2, "sort": sort, "cursor": cursor}
    )

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"
    assert "cursor is malformed" in error_message(response)


def test_valid_cursor_still_walks(admin: Any) -> None:
    for i in range(2):
        create_user(admin, f"u{i}@example.org", f"U{i}")
    first = admin.get("/api/v2/users", params={"limit": 1}).json()

    second = admin.get(
        "/api/v2/users",
        params={"limit": 1, "page": 2, "cursor": first["next_cursor"]},
    )

    assert second.status_code == 200
    assert second.json()["items"][0]["email"] == "u1@example.org"
