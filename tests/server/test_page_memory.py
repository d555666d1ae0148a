"""The server's memory of page boundaries and counts stays bounded."""

from __future__ import annotations

import uuid

import pytest
from server_helpers import client, create_user, new_org, serve_app

from roster.server.app import create_app
from roster.store.db import Database
from roster.store.paging import PageMemory


@pytest.mark.parametrize("max_entries", [1, 40])
def test_memory_keys_are_small_and_bounded(backend: Database, max_entries: int) -> None:
    memory = PageMemory(max_entries=max_entries)
    keys = new_org(backend)
    with (
        serve_app(create_app(backend, memory=memory)) as url,
        client(url, keys.api_key) as http,
    ):
        for i in range(3):
            create_user(http, f"user{i}@example.org", f"User {i}")
        for i in range(120):
            # A filter of the maximum length, different on every request.
            long_filter = f"{i:03d}" + uuid.uuid4().hex * 8
            long_filter = (long_filter * 2)[:256]
            response = http.get("/api/v2/users", params={"name_contains": long_filter})
            assert response.status_code == 200
            # Pages of a real listing store boundaries as well as counts.
            params = {"limit": 1, "page": i % 3 + 1, "name_contains": "user"[: i % 4]}
            assert http.get("/api/v2/users", params=params).status_code == 200

    stored = memory.stored_keys()
    assert 0 < len(stored) <= max_entries
    for kind, digest, page in stored:
        assert kind in ("anchor", "count")
        assert isinstance(digest, bytes)
        assert len(digest) == 32
        assert isinstance(page, int)


def test_memory_still_serves_page_walks(backend: Database) -> None:
    memory = PageMemory()
    keys = new_org(backend)
    with (
        serve_app(create_app(backend, memory=memory)) as url,
        client(url, keys.api_key) as http,
    ):
        for i in range(5):
            create_user(http, f"walk{i}@example.org", f"Walk {i}")
        pages = [
            http.get("/api/v2/users", params={"limit": 2, "page": page}).json()
            for page in (1, 2, 3)
        ]

    emails = [u["email"] for body in pages for u in body["items"]]
    assert emails == [f"walk{i}@example.org" for i in range(5)]
    kinds = {kind for kind, _digest, _page in memory.stored_keys()}
    assert kinds == {"anchor", "count"}
