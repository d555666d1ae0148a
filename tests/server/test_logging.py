"""What the server logs: one line per client error, a traceback per server error,
and never a key."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from server_helpers import client, create_user, serve_app

from roster.server.app import create_app
from roster.store.db import Database


def records_for(
    caplog: pytest.LogCaptureFixture, request_id: str
) -> list[logging.LogRecord]:
    """Return the server's records that mention the request id; the test client's
    own debug records (httpx, httpcore) are left out."""
    return [
        r
        for r in caplog.records
        if r.name.startswith(("roster", "uvicorn")) and request_id in r.getMessage()
    ]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v2/users/nobody@example.org", 404),
        ("GET", "/api/v2/users?limit=0", 400),
        ("POST", "/api/v2/users", 400),
        ("GET", "/api/v2/nowhere", 404),
        ("DELETE", "/api/v2/users", 405),
    ],
)
def test_client_error_logs_one_line(
    admin: httpx.Client,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    status: int,
) -> None:
    caplog.set_level(logging.DEBUG)

    response = admin.request(method, path, headers={"X-Request-ID": "client-error-1"})
    records = records_for(caplog, "client-error-1")

    assert response.status_code == status
    assert len(records) == 1
    assert records[0].levelno == logging.INFO
    assert records[0].exc_info is None
    assert "\n" not in records[0].getMessage()
    assert f"-> {status}" in records[0].getMessage()


def test_unauthenticated_logs_one_line(
    server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    httpx.get(f"{server.url}/api/v2/users", headers={"X-Request-ID": "no-key-1"})
    records = records_for(caplog, "no-key-1")

    assert len(records) == 1
    assert records[0].exc_info is None


def test_server_error_logs_traceback(
    backend: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = create_app(backend)

    def fail() -> None:
        raise RuntimeError("boom for the log")

    app.add_api_route("/fail", fail)
    with serve_app(app) as url:
        response = httpx.get(f"{url}/fail", headers={"X-Request-ID": "server-error-1"})
    records = records_for(caplog, "server-error-1")

    assert response.status_code == 500
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info is not None
    assert "boom for the log" in caplog.text
    assert "Traceback" in caplog.text


def test_database_outage_logs_traceback(
    backend: Database, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    if backend.dialect == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'missing' / 'roster.db'}")
    else:
        db = Database(backend.url.set(port=1))

    with serve_app(create_app(db)) as url:
        response = httpx.get(
            f"{url}/api/v2/users",
            headers={"Authorization": "UserKey x", "X-Request-ID": "outage-1"},
        )
    db.dispose()
    records = records_for(caplog, "outage-1")

    assert response.status_code == 503
    assert len(records) == 1
    assert records[0].exc_info is not None


def test_keys_never_reach_the_log(
    org: Any, reader: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    unknown = "rst_" + "u" * 43

    with client(org.url, org.api_key) as admin:
        user = create_user(admin, "logged@example.org", "Logged")
        admin.get("/api/v2/users", params={"email": "logged@example.org"})
        admin.get("/api/v2/users/nobody@example.org")
        admin.post("/api/v2/users", content=b"{")
        admin.get("/api/v2/audit")
    with client(org.url, org.api_key, "Bearer") as bearer:
        bearer.get(f"/api/v2/users/{user['id']}")
    reader.delete(f"/api/v2/users/{user['id']}")
    with client(org.url, unknown) as stranger:
        stranger.get("/api/v2/users")
    with client(org.url, unknown, "Bearer") as stranger:
        stranger.get("/api/v2/users")

    text = caplog.text
    assert len(caplog.records) > 0
    for secret in (org.api_key, org.reader_key, unknown):
        assert secret not in text
        assert secret[4:20] not in text
    assert "UserKey rst_" not in text
    assert "Bearer rst_" not in text


def test_readyz_does_not_log_migration_context(
    server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    for _ in range(3):
        httpx.get(f"{server.url}/readyz")

    assert not [r for r in caplog.records if r.name.startswith("alembic")]
