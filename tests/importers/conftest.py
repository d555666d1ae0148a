"""Organisations to import into, made straight in the store."""

from __future__ import annotations

import uuid

import pytest

from roster.store.db import Database
from roster.store.orgs import create_org


@pytest.fixture
def org_name(backend: Database) -> str:
    """The name of a fresh organisation in ``backend``."""
    name = f"import-{uuid.uuid4().hex[:10]}"
    with backend.write() as session:
        create_org(session, name)
    return name
