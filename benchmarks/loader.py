"""Create, fill and reuse the benchmark databases.

Run alone to build a database without benchmarking it::

    python benchmarks/loader.py --users 100000 --backend sqlite

Each (backend, size) pair has its own database: the SQLite file
``<data dir>/roster-bench-<users>.db``, or the PostgreSQL database
``roster_bench_<users>`` on the server of ``--postgres-url``. The schema comes
from Roster's own migrations, the organisation ``bench`` and its system groups
from ``roster.store.orgs.create_org``, and the rows from ``synthetic.py``. Users
and memberships are written in batches: SQLAlchemy Core ``executemany`` on SQLite,
``COPY ... FROM STDIN`` on PostgreSQL. Generating the rows in Python is timed
apart from writing them.

The generated rows bypass the change feed, as a bulk restore would, so the
organisation's version stays 0 and its feed is empty. After the load, PostgreSQL
gets ``VACUUM ANALYZE``, which autovacuum would otherwise do later. SQLite gets
``ANALYZE`` only with ``--sqlite-analyze``, because Roster never runs it.

A finished load writes ``<data dir>/roster-bench-<users>.<backend>.json``. A later
run with the same size, seed and generator version reuses the database if that
file exists and the user count matches. If not, it rebuilds the database.
``run.py`` then applies any migration added since the database was built
(``upgrade_schema``), so that the server does not migrate while it starts.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url

import synthetic
from roster.store.db import Database, resolve_url
from roster.store.models import Group, Membership, Organization, User
from roster.store.orgs import create_key, create_org

log = logging.getLogger("benchmarks.loader")

#: Bump when ``synthetic.py`` changes its rows, so that old databases are rebuilt.
GENERATOR_VERSION = 1

ORG_NAME = "bench"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "results" / "data"
BATCH_SIZE = 10_000

USER_COLUMNS = (
    "id",
    "org_id",
    "email",
    "email_norm",
    "email_domain",
    "name",
    "name_fold",
    "status",
    "image",
    "version",
    "created_at",
    "updated_at",
)
MEMBERSHIP_COLUMNS = ("group_id", "user_id", "org_id", "role", "created_at")
GROUP_COLUMNS = (
    "id",
    "org_id",
    "name",
    "name_fold",
    "description",
    "system",
    "parent_id",
    "version",
    "created_at",
    "updated_at",
)


@dataclass
class Dataset:
    """A filled benchmark database and what it took to fill it."""

    backend: str
    users: int
    seed: int
    url: str
    org_id: str
    groups: int
    memberships: int
    load: dict[str, Any]
    reused: bool = False


def postgres_database_url(admin_url: str, users: int) -> str:
    url = make_url(admin_url).set(database=f"roster_bench_{users}")
    return url.render_as_string(hide_password=False)


def sqlite_path(data_dir: Path, users: int) -> Path:
    return data_dir / f"roster-bench-{users}.db"


def _metadata_path(data_dir: Path, backend: str, users: int) -> Path:
    return data_dir / f"roster-bench-{users}.{backend}.json"


def prepare(
    backend: str,
    users: int,
    *,
    data_dir: Path = DEFAULT_DATA_DIR,
    postgres_url: str = DEFAULT_POSTGRES_URL,
    seed: int = synthetic.DEFAULT_SEED,
    rebuild: bool = False,
    sqlite_analyze: bool = False,
) -> Dataset:
    """Return the database of this size, reusing a finished one when possible."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        url = f"sqlite:///{sqlite_path(data_dir, users)}"
    elif backend == "postgres":
        url = postgres_database_url(postgres_url, users)
    else:
        raise ValueError(f"backend must be sqlite or postgres, got {backend!r}")

    metadata_path = _metadata_path(data_dir, backend, users)
    if not rebuild:
        reused = _reusable(metadata_path, url, users, seed)
        if reused is not None:
            log.info("reusing %s (%d users)", _describe(url), users)
            return reused

    metadata_path.unlink(missing_ok=True)
    if backend == "sqlite":
        _remove_sqlite_files(sqlite_path(data_dir, users))
    else:
        _recreate_postgres_database(postgres_url, url)
    dataset = _fill(backend, url, users, seed, sqlite_analyze=sqlite_analyze)
    recorded = {"generator_version": GENERATOR_VERSION, "dataset": asdict(dataset)}
    metadata_path.write_text(json.dumps(recorded, indent=2) + "\n")
    return dataset


def _describe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _reusable(path: Path, url: str, users: int, seed: int) -> Dataset | None:
    """Return the recorded dataset if the database still contains it, else None."""
    if not path.exists():
        return None
    try:
        recorded = json.loads(path.read_text())
        if recorded.get("generator_version") != GENERATOR_VERSION:
            return None
        dataset = Dataset(**recorded["dataset"])
    except (ValueError, KeyError, TypeError) as error:
        log.warning("ignoring unreadable %s: %s", path, error)
        return None
    if dataset.seed != seed or dataset.users != users or dataset.url != url:
        return None
    engine = create_engine(resolve_url(url))
    try:
        with engine.connect() as connection:
            count = connection.scalar(
                select(func.count())
                .select_from(User)
                .where(User.org_id == uuid.UUID(dataset.org_id))
            )
    except Exception as error:  # any failure to read it means "rebuild"
        log.warning("cannot reuse %s: %s", _describe(url), error)
        return None
    finally:
        engine.dispose()
    if count != users:
        log.warning(
            "%s has %s users, expected %d; rebuilding", _describe(url), count, users
        )
        return None
    dataset.reused = True
    return dataset


def _remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _recreate_postgres_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    if not name or not name.startswith("roster_bench"):
        raise ValueError(
            f"refusing to drop database {name!r}: not a benchmark database"
        )
    admin = make_url(admin_url).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _fill(
    backend: str, url: str, users: int, seed: int, *, sqlite_analyze: bool
) -> Dataset:
    started = time.perf_counter()
    database = Database(resolve_url(url))
    database.upgrade()
    with database.write() as session:
        org_id = create_org(session, ORG_NAME).id
        admins_id = session.scalar(
            select(Group.id).where(Group.org_id == org_id, Group.name == "admins")
        )
    database.dispose()
    assert admins_id is not None

    groups = synthetic.make_groups(users, seed)
    engine = _loading_engine(backend, url)
    writer = _SqliteWriter(engine) if backend == "sqlite" else _PostgresWriter(engine)
    generate_seconds = 0.0
    write_seconds = 0.0
    membership_count = 0
    try:
        begin = time.perf_counter()
        writer.write_groups(org_id, groups)
        write_seconds += time.perf_counter() - begin

        batches = synthetic.iter_user_batches(
            users, seed, groups, admins_id, BATCH_SIZE
        )
        done = 0
        while True:
            begin = time.perf_counter()
            batch = next(batches, None)
            generate_seconds += time.perf_counter() - begin
            if batch is None:
                break
            user_rows, membership_rows = batch
            begin = time.perf_counter()
            writer.write_users(org_id, user_rows, membership_rows)
            write_seconds += time.perf_counter() - begin
            done += len(user_rows)
            membership_count += len(membership_rows)
            if done % (BATCH_SIZE * 10) == 0 or done == users:
                log.info("%s: %d of %d users written", backend, done, users)

        begin = time.perf_counter()
        writer.finish(analyze=sqlite_analyze)
        finish_seconds = time.perf_counter() - begin
    finally:
        engine.dispose()

    rows = users + membership_count + len(groups)
    total_seconds = time.perf_counter() - started
    load = {
        "method": writer.method,
        "batch_size": BATCH_SIZE,
        "rows": rows,
        "generate_seconds": round(generate_seconds, 3),
        "write_seconds": round(write_seconds, 3),
        "finish_seconds": round(finish_seconds, 3),
        "finish_step": writer.finish_step(sqlite_analyze),
        "total_seconds": round(total_seconds, 3),
        "write_rows_per_second": round(rows / write_seconds),
        "total_rows_per_second": round(rows / total_seconds),
        "loaded_at": datetime.now(UTC).isoformat(),
    }
    log.info("%s: %d rows in %.1f s (%s)", backend, rows, total_seconds, load)
    return Dataset(
        backend=backend,
        users=users,
        seed=seed,
        url=url,
        org_id=str(org_id),
        groups=len(groups),
        memberships=membership_count,
        load=load,
    )


def _loading_engine(backend: str, url: str) -> Engine:
    if backend != "sqlite":
        return create_engine(resolve_url(url))
    engine = create_engine(resolve_url(url))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The file is thrown away if the load fails, so durability is not needed
        # while loading; a large cache keeps the indexes in memory.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-1048576")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


class _SqliteWriter:
    method = "SQLAlchemy Core executemany"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write_groups(self, org_id: uuid.UUID, groups: list[synthetic.GroupRow]) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                Group.__table__.insert(), [_group_values(org_id, g) for g in groups]
            )

    def write_users(
        self,
        org_id: uuid.UUID,
        users: list[synthetic.UserRow],
        memberships: list[synthetic.MembershipRow],
    ) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                User.__table__.insert(),
                [
                    dict(zip(USER_COLUMNS, _user_tuple(org_id, u), strict=True))
                    for u in users
                ],
            )
            if memberships:
                connection.execute(
                    Membership.__table__.insert(),
                    [
                        dict(
                            zip(
                                MEMBERSHIP_COLUMNS,
                                _membership_tuple(org_id, m),
                                strict=True,
                            )
                        )
                        for m in memberships
                    ],
                )

    def finish(self, *, analyze: bool) -> None:
        with self._engine.begin() as connection:
            if analyze:
                connection.execute(text("ANALYZE"))
        with self._engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    @staticmethod
    def finish_step(analyze: bool) -> str:
        return "ANALYZE, WAL checkpoint" if analyze else "WAL checkpoint"


class _PostgresWriter:
    method = "COPY FROM STDIN (psycopg 3)"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write_groups(self, org_id: uuid.UUID, groups: list[synthetic.GroupRow]) -> None:
        rows = (tuple(_group_values(org_id, g).values()) for g in groups)
        self._copy([("groups", GROUP_COLUMNS, rows)])

    def write_users(
        self,
        org_id: uuid.UUID,
        users: list[synthetic.UserRow],
        memberships: list[synthetic.MembershipRow],
    ) -> None:
        user_rows = (_user_tuple(org_id, u) for u in users)
        membership_rows = (_membership_tuple(org_id, m) for m in memberships)
        self._copy(
            [
                ("users", USER_COLUMNS, user_rows),
                ("memberships", MEMBERSHIP_COLUMNS, membership_rows),
            ]
        )

    def _copy(self, tables: list[tuple[str, tuple[str, ...], Any]]) -> None:
        """Copy rows into each table in turn, in one transaction."""
        raw = self._engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                for table, columns, rows in tables:
                    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                    with cursor.copy(statement) as copy:
                        for row in rows:
                            copy.write_row(row)
            raw.commit()
        finally:
            raw.close()

    def finish(self, *, analyze: bool) -> None:
        del analyze  # PostgreSQL is always analysed, as autovacuum would.
        with self._engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")

    @staticmethod
    def finish_step(analyze: bool) -> str:
        del analyze
        return "VACUUM ANALYZE"


def _group_values(org_id: uuid.UUID, group: synthetic.GroupRow) -> dict[str, Any]:
    return {
        "id": group.id,
        "org_id": org_id,
        "name": group.name,
        "name_fold": group.name_fold,
        "description": group.description,
        "system": False,
        "parent_id": group.parent_id,
        "version": 1,
        "created_at": group.created_at,
        "updated_at": group.created_at,
    }


def _user_tuple(org_id: uuid.UUID, user: synthetic.UserRow) -> tuple[Any, ...]:
    return (
        user.id,
        org_id,
        user.email,
        user.email_norm,
        user.email_domain,
        user.name,
        user.name_fold,
        user.status,
        user.image,
        user.version,
        user.created_at,
        user.updated_at,
    )


def _membership_tuple(
    org_id: uuid.UUID, membership: synthetic.MembershipRow
) -> tuple[Any, ...]:
    return (
        membership.group_id,
        membership.user_id,
        org_id,
        membership.role,
        membership.created_at,
    )


def upgrade_schema(url: str) -> dict[str, Any]:
    """Apply Roster's pending migrations to a benchmark database, as ``roster
    serve`` would at start, and return the revisions and the time it took."""
    database = Database(resolve_url(url))
    try:
        before = database.current_revision()
        started = time.perf_counter()
        database.upgrade()
        seconds = time.perf_counter() - started
        after = database.current_revision()
    finally:
        database.dispose()
    if before != after:
        log.info(
            "upgraded %s from %s to %s in %.1f s",
            _describe(url),
            before,
            after,
            seconds,
        )
    return {"from": before, "to": after, "seconds": round(seconds, 3)}


#: The tables that a listing of users reads, with all their indexes.
LISTING_TABLES = ("organizations", "api_keys", "users", "groups", "memberships")


def warm_cache(url: str) -> int:
    """Read the database into the operating system's page cache.

    Returns the number of bytes read. On the machine the figures come from, files
    were dropped from the page cache while 20 GiB stayed free. The first walk
    after that ran up to 40 times slower for its first few hundred pages. Reading
    everything first makes every measurement start from the same, warm state.

    SQLite files are read whole. PostgreSQL reads the listing tables and their
    indexes with ``pg_prewarm`` in ``read`` mode, which fills the page cache and
    not shared buffers. The extension is created in the benchmark database if it
    is missing.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        total = 0
        for suffix in ("", "-wal"):
            path = Path(f"{parsed.database}{suffix}")
            if path.exists():
                with path.open("rb") as file:
                    while chunk := file.read(8 << 20):
                        total += len(chunk)
        return total
    tables = ", ".join(f"'{name}'::regclass" for name in LISTING_TABLES)
    engine = create_engine(resolve_url(url))
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            blocks = connection.exec_driver_sql(
                "SELECT sum(pg_prewarm(oid, 'read')) FROM pg_class WHERE oid IN "
                f"(SELECT unnest(ARRAY[{tables}]) UNION "
                f"SELECT indexrelid FROM pg_index WHERE indrelid IN ({tables}))"
            ).scalar()
            block_size = connection.exec_driver_sql(
                "SELECT current_setting('block_size')::int"
            ).scalar()
    finally:
        engine.dispose()
    return int(blocks or 0) * int(block_size or 0)


def create_api_key(url: str, org_id: str) -> str:
    """Create a fresh reader key for this run and return its secret.

    The key is stored hashed in the benchmark database and never written to the
    results.
    """
    database = Database(resolve_url(url))
    try:
        with database.write() as session:
            org = session.get(Organization, uuid.UUID(org_id))
            assert org is not None, f"organisation {org_id} not found in {url}"
            name = f"bench-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
            return create_key(session, org, name, role="reader").secret
    finally:
        database.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000, help="Number of users.")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres", "both"), default="sqlite"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="Server and credentials for PostgreSQL; its database name is replaced.",
    )
    parser.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED)
    parser.add_argument(
        "--rebuild", action="store_true", help="Never reuse a database."
    )
    parser.add_argument("--sqlite-analyze", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        dataset = prepare(
            backend,
            args.users,
            data_dir=args.data_dir,
            postgres_url=args.postgres_url,
            seed=args.seed,
            rebuild=args.rebuild,
            sqlite_analyze=args.sqlite_analyze,
        )
        json.dump(asdict(dataset), sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
