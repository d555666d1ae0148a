"""Fixtures that run Roster for real: a SQLite file, PostgreSQL, and a server on
loopback.

Every test that takes ``backend`` (or anything built on it) runs twice, once on a
SQLite file and once on PostgreSQL. PostgreSQL is found at
``ROSTER_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
each test session creates a database of its own there and drops it at the end.
When the server cannot be reached the PostgreSQL tests are skipped with the reason,
except when ``CI=true``, where they fail instead.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from roster.server.app import create_app
from roster.store.db import Database
from roster.store.orgs import create_key, create_org

POSTGRES_URL = os.environ.get(
    "ROSTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "kubernetes-org"


def _postgres_admin_connection() -> object:
    import psycopg

    return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """Create a database for this test session and return its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    try:
        admin = _postgres_admin_connection()
    except psycopg.OperationalError as error:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {error}".strip()
        if IN_CI:
            pytest.fail(f"{message} (CI=true, so this is a failure, not a skip)")
        pytest.skip(f"{message}; set ROSTER_TEST_POSTGRES_URL to run these tests")
    name = f"roster_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:  # type: ignore[attr-defined]
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    url = make_url(POSTGRES_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with _postgres_admin_connection() as admin:  # type: ignore[attr-defined]
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A migrated database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "roster.db"
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_database")
    db = Database(url)
    db.upgrade()
    yield db
    db.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    db: Database


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        # Signals belong to pytest's main thread.
        pass


@pytest.fixture(scope="session")
def server(backend: Database) -> Iterator[LiveServer]:
    """A Roster server on 127.0.0.1 in a background thread, over ``backend``."""
    port = free_port()
    config = uvicorn.Config(
        create_app(backend),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    instance = _ThreadedServer(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start within 20 s")
        time.sleep(0.01)
    yield LiveServer(url=f"http://127.0.0.1:{port}", db=backend)
    instance.should_exit = True
    thread.join(timeout=10)


@dataclass
class Org:
    """An organisation of its own for one test, with an admin and a reader key."""

    name: str
    id: uuid.UUID
    url: str
    api_key: str
    reader_key: str
    db: Database


def make_org(server: LiveServer, prefix: str = "org") -> Org:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    with server.db.write() as session:
        org = create_org(session, name)
        admin = create_key(session, org, "admin-key", "admin")
        reader = create_key(session, org, "reader-key", "reader")
        org_id = org.id
    return Org(name, org_id, server.url, admin.secret, reader.secret, server.db)


@pytest.fixture
def org(server: LiveServer) -> Org:
    return make_org(server)


@pytest.fixture(scope="session")
def k8s_org(server: LiveServer) -> Org:
    """The example organisation (1,276 people, 284 teams), imported once per
    backend."""
    from roster.importers.csv_import import import_directory

    org = make_org(server, "kubernetes")
    import_directory(
        server.db,
        org.name,
        users_csv=EXAMPLES / "users.csv",
        groups_csv=EXAMPLES / "groups.csv",
        memberships_csv=EXAMPLES / "memberships.csv",
    )
    return org


@pytest.fixture
def make_another_org(server: LiveServer) -> Callable[[], Org]:
    """A factory of further organisations, for tests of isolation."""
    return lambda: make_org(server, "other")
