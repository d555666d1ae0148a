"""Responses to database failures: 503 ``busy`` for lock and pool timeouts, 503
``unavailable`` for an unreachable or unmigrated database, 500 otherwise."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from server_helpers import (
    OrgKeys,
    client,
    error_code,
    error_message,
    new_org,
    serve_app,
)
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from roster.server.app import create_app
from roster.store import directory
from roster.store.changes import lock_org
from roster.store.db import POOL_CONNECTIONS, Database


def broken_get_user(error: Exception) -> Any:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise error

    return broken


@pytest.mark.parametrize(
    "driver_error",
    [
        sqlite3.OperationalError("LIKE or GLOB pattern too complex"),
        sqlite3.OperationalError('near "FROM": syntax error'),
        psycopg.errors.StringDataRightTruncation("value too long"),
    ],
    ids=["sqlite-like", "sqlite-syntax", "postgres-truncation"],
)
def test_other_database_error_is_500(
    org: Any, monkeypatch: pytest.MonkeyPatch, driver_error: Exception
) -> None:
    error = OperationalError("SELECT users.email_norm", {}, driver_error)
    monkeypatch.setattr(directory, "get_user", broken_get_user(error))

    with client(org.url, org.api_key) as http:
        response = http.get("/api/v2/users/a@example.org")

    assert response.status_code == 500
    assert error_code(response) == "internal_error"
    assert "email_norm" not in response.text


@pytest.mark.parametrize(
    "driver_error",
    [
        sqlite3.OperationalError("database is locked"),
        psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
    ],
    ids=["sqlite", "postgres"],
)
def test_lock_timeout_error_is_503_busy(
    org: Any, monkeypatch: pytest.MonkeyPatch, driver_error: Exception
) -> None:
    error = OperationalError("SELECT organizations.id", {}, driver_error)
    monkeypatch.setattr(directory, "get_user", broken_get_user(error))

    with client(org.url, org.api_key) as http:
        response = http.get("/api/v2/users/a@example.org")

    assert response.status_code == 503
    assert error_code(response) == "busy"
    assert response.headers["Retry-After"] == "1"
    assert "another write" in error_message(response)


def test_pool_timeout_error_is_503_busy(
    org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = PoolTimeoutError("QueuePool limit of size 10 overflow 30 reached")
    monkeypatch.setattr(directory, "get_user", broken_get_user(error))

    with client(org.url, org.api_key) as http:
        response = http.get("/api/v2/users/a@example.org")

    assert response.status_code == 503
    assert error_code(response) == "busy"
    assert response.headers["Retry-After"] == "1"
    assert "QueuePool" not in response.text


def test_exhausted_pool_is_503_busy(backend: Database) -> None:
    db = Database(backend.url)
    keys = new_org(db)
    with ExitStack() as held, serve_app(create_app(db)) as url:
        # Every pooled connection is taken, as by requests that all wait.
        for _ in range(POOL_CONNECTIONS):
            session = held.enter_context(db.read())
            session.execute(text("SELECT 1"))
        with client(url, keys.api_key) as http:
            response = http.get("/api/v2/users")
        health = httpx.get(f"{url}/healthz")
    db.dispose()

    assert response.status_code == 503
    assert error_code(response) == "busy"
    assert "connection" in error_message(response)
    assert health.status_code == 200


@dataclass
class LockedOrg:
    keys: OrgKeys
    #: Another organisation, made before the lock was taken.
    other: OrgKeys
    release: threading.Event


@pytest.fixture
def locked_org(backend: Database) -> Iterator[LockedOrg]:
    """An organisation whose write lock another connection holds until
    ``release`` is set."""
    keys = new_org(backend)
    other = new_org(backend)
    release = threading.Event()
    locked = threading.Event()

    def hold() -> None:
        # On SQLite this takes the database's write lock, on PostgreSQL the
        # organisation's row lock.
        with backend.write() as session:
            lock_org(session, keys.id)
            locked.set()
            release.wait(timeout=60)

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(timeout=30)
    try:
        yield LockedOrg(keys, other, release)
    finally:
        release.set()
        holder.join(timeout=60)


def test_write_waiting_for_lock_is_503_busy(server: Any, locked_org: LockedOrg) -> None:
    keys = locked_org.keys
    results: dict[str, httpx.Response] = {}
    body = {"email": "waiting@example.org", "name": "Waiting"}
    idempotency = {"Idempotency-Key": f"wait-{uuid.uuid4().hex}"}

    def post() -> None:
        with client(server.url, keys.api_key) as http:
            results["post"] = http.post("/api/v2/users", json=body, headers=idempotency)

    writer = threading.Thread(target=post)
    writer.start()
    with client(server.url, locked_org.other.api_key) as http:
        read = http.get("/api/v2/users")
    health = httpx.get(f"{server.url}/healthz")
    writer.join(timeout=60)
    locked_org.release.set()
    with client(server.url, keys.api_key) as http:
        retried = http.post("/api/v2/users", json=body, headers=idempotency)

    assert read.status_code == 200
    assert health.status_code == 200
    response = results["post"]
    assert response.status_code == 503
    assert error_code(response) == "busy"
    assert response.headers["Retry-After"] == "1"
    assert error_message(response).startswith("another write to ")
    assert retried.status_code == 201


def test_delete_waiting_for_lock_is_503_busy(
    server: Any, locked_org: LockedOrg
) -> None:
    with client(server.url, locked_org.keys.api_key) as http:
        response = http.delete("/api/v2/groups/nobody")

    assert response.status_code == 503
    assert error_code(response) == "busy"


@pytest.fixture
def empty_database(backend: Database, tmp_path: Path) -> Iterator[Database]:
    """A database of the same kind as ``backend`` without Roster's tables."""
    if backend.dialect == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'unmigrated.db'}")
        yield db
        db.dispose()
        return
    name = f"roster_empty_{uuid.uuid4().hex[:12]}"
    server_url = backend.url.set(drivername="postgresql")
    admin_url = server_url.render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db = Database(make_url(backend.url).set(database=name))
    yield db
    db.dispose()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_unmigrated_database_is_503(empty_database: Database) -> None:
    with serve_app(create_app(empty_database)) as url:
        response = httpx.get(
            f"{url}/api/v2/users", headers={"Authorization": "UserKey rst_x"}
        )

    assert response.status_code == 503
    assert error_code(response) == "unavailable"
    assert "roster db upgrade" in error_message(response)
    assert "Traceback" not in response.text
