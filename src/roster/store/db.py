"""Database URLs, engines, sessions and migrations."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "ROSTER_DATABASE_URL"

# The table in which alembic records the schema's revision (its default name).
_VERSION_TABLE = "alembic_version"

#: Seconds a write waits for its organisation's lock (PostgreSQL) or the database's
#: write lock (SQLite) before it fails, unless ``Database`` is given another value.
#: The server responds to such a failure with 503 ``busy``, which clients retry.
DEFAULT_LOCK_TIMEOUT_SECONDS = 5.0

#: Connections per engine. The server runs blocking work in anyio's thread pool,
#: whose default limit is 40 threads. Each thread uses at most one connection at a
#: time, so with a pool of this size no request waits for another's connection.
POOL_CONNECTIONS = 40
_POOL_SIZE = 10
#: Seconds a request waits for a free pooled connection before failing with
#: sqlalchemy's TimeoutError, which the server responds to with 503 ``busy``.
POOL_TIMEOUT_SECONDS = 5


def default_sqlite_path() -> Path:
    """Return the SQLite file used when no database is named.

    ``$XDG_DATA_HOME/roster/roster.db``, which is ``~/.local/share/roster/roster.db``
    when ``XDG_DATA_HOME`` is unset.
    """
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "roster" / "roster.db"


def resolve_url(database: str | None = None) -> URL:
    """Turn ``--database``, ``ROSTER_DATABASE_URL`` or the default into a URL.

    A value without ``://`` is a path to a SQLite file. ``postgresql://`` URLs use
    the psycopg 3 driver.
    """
    raw = database or os.environ.get(DATABASE_URL_ENV)
    if not raw:
        path = default_sqlite_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return make_url(f"sqlite:///{path}")
    if "://" not in raw:
        return make_url(f"sqlite:///{Path(raw).expanduser().resolve()}")
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"unsupported database URL scheme {url.drivername!r}: "
            "use sqlite:///PATH or postgresql://USER@HOST/DB"
        )
    return url


def _pool_options(url: URL) -> dict[str, Any]:
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        # An in-memory SQLite database uses SingletonThreadPool, which has no
        # overflow or timeout.
        return {}
    return {
        "pool_size": _POOL_SIZE,
        "max_overflow": POOL_CONNECTIONS - _POOL_SIZE,
        "pool_timeout": POOL_TIMEOUT_SECONDS,
    }


def _sqlite_engine(url: URL, *, immediate: bool, busy_timeout_ms: int) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_ms / 1000},
        # Bound parameters are row data; they stay out of error messages, which
        # reach logs and the CLI's output.
        hide_parameters=True,
        **_pool_options(url),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to the "begin" hook below, so that writers
        # take the write lock up front instead of failing to upgrade a read
        # lock half-way through.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """Engines and session factories for one database.

    ``read()`` sessions see one consistent snapshot (a SQLite read transaction, or
    PostgreSQL's REPEATABLE READ), so a page, its total count and the
    organisation's version agree. ``write()`` sessions on SQLite take the write
    lock when they begin; on PostgreSQL writers serialise on their organisation's
    row instead (see ``roster.store.changes``).

    ``lock_timeout_seconds`` bounds how long a write waits for that lock: SQLite's
    busy timeout, or PostgreSQL's ``lock_timeout`` in every write transaction.
    A wait that runs out raises an OperationalError, which
    ``roster.store.failures.classify`` reports as busy.
    """

    def __init__(
        self,
        url: URL | str,
        *,
        lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    ) -> None:
        if lock_timeout_seconds <= 0:
            raise ValueError(
                f"lock_timeout_seconds must be positive, got {lock_timeout_seconds}"
            )
        self.url = make_url(url) if isinstance(url, str) else url
        self.dialect = self.url.get_backend_name()
        self.lock_timeout_ms = max(1, round(lock_timeout_seconds * 1000))
        if self.dialect == "sqlite":
            self._read_engine = _sqlite_engine(
                self.url, immediate=False, busy_timeout_ms=self.lock_timeout_ms
            )
            self._write_engine = _sqlite_engine(
                self.url, immediate=True, busy_timeout_ms=self.lock_timeout_ms
            )
        else:
            self._write_engine = create_engine(
                self.url,
                pool_pre_ping=True,
                hide_parameters=True,
                **_pool_options(self.url),
            )
            self._read_engine = self._write_engine.execution_options(
                isolation_level="REPEATABLE READ"
            )
        self._read = sessionmaker(self._read_engine, expire_on_commit=False)
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)
        self._head_revision: str | None = None

    @property
    def engine(self) -> Engine:
        return self._write_engine

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._write() as session, session.begin():
            if self.dialect == "postgresql":
                # SET takes no bound parameters; the value is an integer (ms).
                session.execute(
                    text(f"SET LOCAL lock_timeout = {int(self.lock_timeout_ms)}")
                )
            yield session

    def dispose(self) -> None:
        self._read_engine.dispose()
        self._write_engine.dispose()

    def describe(self) -> str:
        """Return the URL with any password hidden, for logs and messages."""
        return self.url.render_as_string(hide_password=True)

    # Migrations

    def _alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", "roster.store:migrations")
        config.attributes["engine"] = self._write_engine
        return config

    def upgrade(self) -> None:
        """Apply every pending migration."""
        command.upgrade(self._alembic_config(), "head")

    def current_revision(self) -> str | None:
        """Return the schema revision recorded in the database, None if unmigrated.

        This reads alembic's version table directly instead of through a
        ``MigrationContext``, which logs two INFO lines each time it is made and
        would do so on every readiness probe.
        """
        with self._write_engine.connect() as connection:
            if not inspect(connection).has_table(_VERSION_TABLE):
                return None
            revisions = sorted(
                connection.scalars(text(f"SELECT version_num FROM {_VERSION_TABLE}"))
            )
        # Roster's migrations form one line, so the table contains at most one row.
        # Several rows would not match the head, so /readyz would report 503.
        return ",".join(revisions) or None

    def head_revision(self) -> str | None:
        """Return the latest migration's revision; it is read once and kept."""
        if self._head_revision is None:
            scripts = ScriptDirectory.from_config(self._alembic_config())
            self._head_revision = scripts.get_current_head()
        return self._head_revision
