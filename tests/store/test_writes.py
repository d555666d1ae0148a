"""Store writes: the organisation lock and the changes each write records."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from roster.store import directory
from roster.store.changes import lock_org
from roster.store.db import Database
from roster.store.errors import Conflict
from roster.store.models import Change


@contextmanager
def locking_statements(db: Database) -> Iterator[list[str]]:
    """Collect the statements that lock an organisation's row."""
    statements: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("SELECT organizations."):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)


def test_lock_org_selects_once_per_transaction(
    backend: Database, org_id: uuid.UUID
) -> None:
    with locking_statements(backend) as statements, backend.write() as session:
        for i in range(3):
            directory.create_user(
                session, org_id, "test", email=f"u{i}@example.org", name=f"U{i}"
            )

    assert len(statements) == 1


def test_lock_org_selects_again_in_new_transaction(
    backend: Database, org_id: uuid.UUID
) -> None:
    with locking_statements(backend) as statements:
        for _ in range(2):
            with backend.write() as session:
                lock_org(session, org_id)

    assert len(statements) == 2


def test_sequence_continues_across_transactions(
    backend: Database, org_id: uuid.UUID
) -> None:
    for i in range(3):
        with backend.write() as session:
            directory.create_user(
                session, org_id, "test", email=f"u{i}@example.org", name=f"U{i}"
            )

    with backend.read() as session:
        seqs = list(
            session.scalars(
                select(Change.seq).where(Change.org_id == org_id).order_by(Change.seq)
            )
        )
    assert seqs == [1, 2, 3]


def test_created_user_change_has_every_field(
    backend: Database, org_id: uuid.UUID
) -> None:
    image = "https://example.org/a.png"
    with backend.write() as session:
        user = directory.create_user(
            session, org_id, "test", email="a@example.org", name="A", image=image
        )
        user_id = str(user.id)

    with backend.read() as session:
        change = session.scalars(select(Change).where(Change.org_id == org_id)).one()
    assert change.type == "user.created"
    assert change.data["id"] == user_id
    assert change.data["image"] == image
    assert change.data["email"] == "a@example.org"


def test_failed_write_rolls_back_change(backend: Database, org_id: uuid.UUID) -> None:
    with backend.write() as session:
        directory.create_user(session, org_id, "test", email="a@example.org", name="A")

    with pytest.raises(Conflict), backend.write() as session:
        directory.create_user(session, org_id, "test", email="b@example.org", name="B")
        directory.create_user(session, org_id, "test", email="A@example.org", name="A")

    with backend.read() as session:
        changes = list(session.scalars(select(Change).where(Change.org_id == org_id)))
    assert [c.seq for c in changes] == [1]
