"""Organisations made straight in the store, for tests below the HTTP layer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from roster.store.db import Database
from roster.store.orgs import create_org


@pytest.fixture
def org_id(backend: Database) -> uuid.UUID:
    """The id of a fresh organisation in ``backend``."""
    with backend.write() as session:
        org = create_org(session, f"store-{uuid.uuid4().hex[:10]}")
        return org.id


@pytest.fixture
def empty_database(backend: Database, tmp_path: Path) -> Iterator[Database]:
    """A database of the same kind as ``backend`` without any tables."""
    if backend.dialect == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield db
        db.dispose()
        return
    name = f"roster_empty_{uuid.uuid4().hex[:12]}"
    admin_url = backend.url.set(drivername="postgresql").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db = Database(backend.url.set(database=name))
    yield db
    db.dispose()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
