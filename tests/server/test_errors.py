"""Error responses: one JSON shape, never a 500 for bad input, no tracebacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from server_helpers import create_user, error_code, error_message, serve_app
from sqlalchemy.exc import DataError

from roster.server.app import create_app
from roster.store import directory
from roster.store.db import Database


@pytest.mark.parametrize(
    "content",
    [b"{", b"not json", b"\xff\xfe", b'{"name": }', b"[" * 100_000, b"{}}"],
    ids=["open", "text", "not-utf8", "no-value", "deep", "trailing"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v2/users"),
        ("POST", "/api/v2/groups"),
        ("PATCH", "/api/v2/groups/admins"),
        ("PUT", "/api/v2/groups/admins/members/someone@example.org"),
    ],
)
def test_malformed_json_is_400(
    admin: httpx.Client, method: str, path: str, content: bytes
) -> None:
    response = admin.request(
        method, path, content=content, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert error_code(response) == "invalid_body"


@pytest.mark.parametrize("content", [b"[]", b'"text"', b"5", b"null"])
def test_non_object_body_is_400(admin: httpx.Client, content: bytes) -> None:
    response = admin.post("/api/v2/users", content=content)

    assert response.status_code == 400
    assert error_message(response) == "request body must be a JSON object"


def test_patch_user_with_malformed_json_is_400(admin: httpx.Client) -> None:
    user = create_user(admin, "a@example.org", "A")

    response = admin.patch(f"/api/v2/users/{user['id']}", content=b"{")

    assert response.status_code == 400
    assert error_code(response) == "invalid_body"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v2/users", {"email": "a@b.org", "name": "A", "x": 1}, "x"),
        ("PATCH", "/api/v2/users/{user}", {"groups": []}, "groups"),
        ("POST", "/api/v2/groups", {"name": "g", "system": True}, "system"),
        ("PATCH", "/api/v2/groups/admins", {"system": False}, "system"),
        ("PUT", "/api/v2/groups/admins/members/{user}", {"admin": True}, "admin"),
    ],
)
def test_unknown_field_is_400(
    admin: httpx.Client, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    user = create_user(admin, "a@example.org", "A")

    response = admin.request(method, path.format(user=user["id"]), json=body)

    assert response.status_code == 400
    assert error_code(response) == "invalid_body"
    assert error_message(response).startswith(f"unknown field(s) {field}")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v2/users", {"name_contains": "x" * 6000}),
        ("/api/v2/users", {"email": "y" * 6000}),
        ("/api/v2/users", {"unknown": "z" * 6000}),
        ("/api/v2/groups", {"name_contains": "g" * 6000}),
        ("/api/v2/users/" + "u" * 6000, {}),
        ("/api/v2/groups/" + "g" * 6000, {}),
        ("/api/v2/groups/" + "g" * 6000 + "/members", {}),
    ],
)
def test_long_query_is_not_500(
    admin: httpx.Client, path: str, params: dict[str, str]
) -> None:
    response = admin.get(path, params=params)

    assert response.status_code in (200, 400, 404)
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v2/users/a%00b", {}),
        ("/api/v2/groups/a%00b", {}),
        ("/api/v2/groups/a%00b/members", {}),
        ("/api/v2/users", {"name_contains": "\x00"}),
        ("/api/v2/users", {"email_domain": "\x1f"}),
        ("/api/v2/groups", {"name_contains": "\x00"}),
        ("/api/v2/groups", {"parent": "\x00"}),
        ("/api/v1/manage/groups", {"name_contains": "\x00"}),
        ("/api/v2/users", {"cursor": "\x00", "page": "2"}),
    ],
)
def test_nul_bytes_are_not_500(
    admin: httpx.Client, path: str, params: dict[str, str]
) -> None:
    response = admin.get(path, params=params)

    assert response.status_code in (400, 404)
    assert "error" in response.json()


def test_nul_in_member_refs_is_404(admin: httpx.Client) -> None:
    response = admin.put("/api/v2/groups/admins/members/a%00b@example.org", json={})

    assert response.status_code == 404
    assert error_code(response) == "user_not_found"


def test_unknown_route_is_json_404(admin: httpx.Client) -> None:
    response = admin.get("/api/v3/users")

    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert "/api/v3/users" in error_message(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/v2/users"),
        ("PUT", "/api/v2/users/someone"),
        ("POST", "/api/v1/manage/groups"),
        ("POST", "/api/v2/changes"),
        ("POST", "/healthz"),
    ],
)
def test_wrong_method_is_json_405(admin: httpx.Client, method: str, path: str) -> None:
    response = admin.request(method, path)

    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"
    assert method in error_message(response)
    assert "Allow" in response.headers


def test_healthz(server: Any) -> None:
    response = httpx.get(f"{server.url}/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_migrated(server: Any) -> None:
    response = httpx.get(f"{server.url}/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["revision"] == server.db.head_revision()


def test_readyz_before_migration(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    with serve_app(create_app(db)) as url:
        response = httpx.get(f"{url}/readyz")
    db.dispose()

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "roster db upgrade" in response.json()["reason"]


def test_openapi_lists_endpoints(server: Any) -> None:
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]

    for path in [
        "/api/v2/users",
        "/api/v2/users/{user_ref}",
        "/api/v2/users/{user_ref}/groups",
        "/api/v2/users/{user_ref}/deactivate",
        "/api/v1/manage/groups",
        "/api/v2/groups",
        "/api/v2/groups/{group_ref}/members",
        "/api/v2/groups/{group_ref}/members/{user_ref}",
        "/api/v2/changes",
        "/api/v2/audit",
        "/healthz",
        "/readyz",
    ]:
        assert path in paths


def test_openapi_documents_real_errors(server: Any) -> None:
    document = httpx.get(f"{server.url}/openapi.json").json()
    listing = document["paths"]["/api/v2/users"]["get"]
    create = document["paths"]["/api/v2/users"]["post"]

    assert "422" not in listing["responses"]
    assert {"400", "401", "404", "503"} <= set(listing["responses"])
    assert {"409", "412", "413"} <= set(create["responses"])
    assert listing["security"] == [{"apiKey": []}]
    scheme = document["components"]["securitySchemes"]["apiKey"]
    assert scheme["name"] == "Authorization"
    assert "Error" in document["components"]["schemas"]
    assert "security" not in document["paths"]["/healthz"]["get"]


def unreachable(backend: Database, tmp_path: Path) -> Database:
    """A database of the same kind as ``backend`` that cannot be opened."""
    if backend.dialect == "sqlite":
        return Database(f"sqlite:///{tmp_path / 'missing-dir' / 'roster.db'}")
    return Database(backend.url.set(port=1))


@pytest.fixture
def down_url(backend: Database, tmp_path: Path) -> Iterator[str]:
    db = unreachable(backend, tmp_path)
    with serve_app(create_app(db)) as url:
        yield url
    db.dispose()


def test_unreachable_database_is_503(down_url: str) -> None:
    response = httpx.get(
        f"{down_url}/api/v2/users", headers={"Authorization": "UserKey x"}
    )

    assert response.status_code == 503
    assert error_code(response) == "unavailable"
    assert response.headers["Retry-After"] == "1"
    assert "Traceback" not in response.text


def test_readyz_without_database_is_503(down_url: str) -> None:
    response = httpx.get(f"{down_url}/readyz")

    assert response.status_code == 503
    assert response.json()["reason"].startswith("database unavailable")


def failing_app(backend: Database) -> FastAPI:
    app = create_app(backend)

    def fail() -> None:
        raise RuntimeError("internal detail that must stay in the log")

    app.add_api_route("/fail", fail)
    return app


def test_unhandled_error_is_500_without_traceback(backend: Database) -> None:
    with serve_app(failing_app(backend)) as url:
        response = httpx.get(f"{url}/fail")

    assert response.status_code == 500
    assert error_code(response) == "internal_error"
    assert response.json()["error"]["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.text
    assert "internal detail" not in response.text


def test_database_error_is_500_without_traceback(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise DataError("SELECT secret_column", {}, Exception("value too long"))

    monkeypatch.setattr(directory, "get_user", broken)
    with httpx.Client(base_url=org.url) as http:
        response = http.get(
            "/api/v2/users/a@example.org",
            headers={"Authorization": f"UserKey {org.api_key}"},
        )

    assert response.status_code == 500
    assert error_code(response) == "internal_error"
    assert "secret_column" not in response.text
    assert "Traceback" not in response.text


def test_oversized_body_is_413(admin: httpx.Client) -> None:
    padding = "x" * (1024 * 1024)

    response = admin.post(
        "/api/v2/users",
        content=f'{{"email": "big@example.org", "name": "{padding}"}}'.encode(),
    )
    listed = admin.get("/api/v2/users", params={"email": "big@example.org"})

    assert response.status_code == 413
    assert error_code(response) == "body_too_large"
    assert listed.json()["total"] == 0


def test_oversized_chunked_body_is_413(admin: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"email": "big@example.org", "name": "'
        for _ in range(40):
            yield b"y" * 32_768
        yield b'"}'

    response = admin.post("/api/v2/users", content=chunks())

    assert response.status_code == 413
    assert "larger than 1048576 bytes" in error_message(response)
