"""Organisations made straight in the store, for tests below the HTTP layer."""

from __future__ import annotations

import uuid

import pytest

from roster.store.db import Database
from roster.store.orgs import create_org


@pytest.fixture
def org_id(backend: Database) -> uuid.UUID:
    """The id of a fresh organisation in ``backend``."""
    with backend.write() as session:
        org = create_org(session, f"store-{uuid.uuid4().hex[:10]}")
        return org.id
