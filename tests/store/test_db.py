"""Engine settings: lock waits, pool size and what database errors contain."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import QueuePool

from roster.store.db import POOL_CONNECTIONS, POOL_TIMEOUT_SECONDS, Database
from roster.store.models import Organization, User

# pg_settings reports lock_timeout in milliseconds.
_PG_LOCK_TIMEOUT = text("SELECT setting FROM pg_settings WHERE name = 'lock_timeout'")


def lock_wait_ms(db: Database, *, write: bool = True) -> int:
    """Return the lock wait that a transaction of ``db`` runs with."""
    with db.write() if write else db.read() as session:
        if db.dialect == "sqlite":
            return int(session.scalar(text("PRAGMA busy_timeout")) or 0)
        return int(session.scalar(_PG_LOCK_TIMEOUT) or 0)


@pytest.fixture
def make_db(backend: Database) -> Iterator[Callable[..., Database]]:
    """A factory of further ``Database`` objects on ``backend``'s database."""
    created: list[Database] = []

    def make(**options: Any) -> Database:
        db = Database(backend.url, **options)
        created.append(db)
        return db

    yield make
    for db in created:
        db.dispose()


def test_default_lock_wait_is_five_seconds(make_db: Callable[..., Database]) -> None:
    assert lock_wait_ms(make_db()) == 5000


def test_lock_wait_is_configurable(make_db: Callable[..., Database]) -> None:
    assert lock_wait_ms(make_db(lock_timeout_seconds=60)) == 60_000


@pytest.mark.parametrize("seconds", [0, -1])
def test_lock_wait_must_be_positive(backend: Database, seconds: float) -> None:
    with pytest.raises(ValueError, match="lock_timeout_seconds must be positive"):
        Database(backend.url, lock_timeout_seconds=seconds)


def test_lock_wait_of_reads(backend: Database) -> None:
    # SQLite's busy timeout belongs to the connection, so readers wait as long;
    # PostgreSQL's readers take no lock that a writer holds, and keep the default.
    expected = 5000 if backend.dialect == "sqlite" else 0

    assert lock_wait_ms(backend, write=False) == expected


def test_pool_holds_a_connection_per_thread(backend: Database) -> None:
    pool = backend.engine.pool

    assert isinstance(pool, QueuePool)
    assert pool.size() + pool._max_overflow >= POOL_CONNECTIONS >= 40
    assert pool.timeout() == POOL_TIMEOUT_SECONDS


def test_database_errors_hide_bound_parameters(backend: Database) -> None:
    name = f"org-{uuid.uuid4().hex}"
    with backend.write() as session:
        session.add(Organization(name=name, version=0))
    duplicate_id = uuid.uuid4()

    with pytest.raises(IntegrityError) as failure, backend.write() as session:
        session.add(Organization(id=duplicate_id, name=name, version=0))
        session.flush()

    # The id is a bound parameter only; PostgreSQL's own message names the
    # duplicate key, which is the name.
    assert isinstance(failure.value, DBAPIError)
    assert duplicate_id.hex not in str(failure.value).replace("-", "")
    assert "parameters hidden due to hide_parameters" in str(failure.value)


def insert_user(db: Database, org_id: uuid.UUID, email: str) -> uuid.UUID:
    """Insert a user with the comparison forms of revision 0001 (lower case)."""
    user_id = uuid.uuid4()
    with db.engine.begin() as connection:
        connection.execute(
            User.__table__.insert().values(
                id=user_id,
                org_id=org_id,
                email=email,
                email_norm=email.lower(),
                email_domain=email.lower().rpartition("@")[2],
                name="N",
                name_fold="n",
                status="active",
                version=1,
            )
        )
    return user_id


def at_first_revision(db: Database) -> uuid.UUID:
    """Migrate ``db`` to revision 0001 and add an organisation; return its id."""
    command.upgrade(db._alembic_config(), "0001")
    org_id = uuid.uuid4()
    with db.engine.begin() as connection:
        connection.execute(
            Organization.__table__.insert().values(id=org_id, name="o", version=0)
        )
    return org_id


def test_upgrade_recomputes_email_forms(empty_database: Database) -> None:
    db = empty_database
    org_id = at_first_revision(db)
    nfd = insert_user(db, org_id, unicodedata.normalize("NFD", "José@x.org"))
    puny = insert_user(db, org_id, "ana@XN--EXMPLE-CUA.org")
    plain = insert_user(db, org_id, "Bo@Example.org")

    db.upgrade()
    with db.read() as session:
        forms = {
            user.id: (user.email_norm, user.email_domain)
            for user in session.scalars(select(User))
        }

    assert forms[nfd] == ("josé@x.org", "x.org")
    assert forms[puny] == ("ana@exämple.org", "exämple.org")
    assert forms[plain] == ("bo@example.org", "example.org")
    assert db.current_revision() == db.head_revision()


def test_upgrade_stops_on_emails_that_become_equal(empty_database: Database) -> None:
    db = empty_database
    org_id = at_first_revision(db)
    insert_user(db, org_id, "josé@x.org")
    insert_user(db, org_id, unicodedata.normalize("NFD", "josé@x.org"))

    with pytest.raises(RuntimeError, match="the same normalised email"):
        db.upgrade()

    assert db.current_revision() == "0001"


def test_downgrade_restores_lower_case_forms(empty_database: Database) -> None:
    db = empty_database
    org_id = at_first_revision(db)
    user_id = insert_user(db, org_id, "ana@XN--EXMPLE-CUA.org")
    db.upgrade()

    command.downgrade(db._alembic_config(), "0001")
    with db.engine.connect() as connection:
        row = connection.execute(
            select(User.email_norm, User.email_domain).where(User.id == user_id)
        ).one()

    assert tuple(row) == ("ana@xn--exmple-cua.org", "xn--exmple-cua.org")
