"""Helpers for tests that call a live Roster server over HTTP."""

from __future__ import annotations

import csv
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from roster.store.db import Database
from roster.store.orgs import create_key, create_org

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kubernetes-org"


def client(url: str, key: str | None, scheme: str = "UserKey") -> httpx.Client:
    headers = {"Authorization": f"{scheme} {key}"} if key is not None else {}
    return httpx.Client(base_url=url, headers=headers, timeout=60)


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def error_message(response: httpx.Response) -> str:
    message: str = response.json()["error"]["message"]
    return message


def walk(
    http: httpx.Client,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    limit: int = 100,
    follow_cursor: bool = True,
) -> list[dict[str, Any]]:
    """Fetch every page of a listing and return the items in order.

    With ``follow_cursor`` each request after the first sends the previous page's
    ``next_cursor``; without it only page numbers are sent.
    """
    items: list[dict[str, Any]] = []
    page = 1
    cursor = None
    while True:
        query = {**(params or {}), "limit": limit, "page": page}
        if follow_cursor and cursor is not None:
            query["cursor"] = cursor
        response = http.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        if not body["has_more"]:
            return items
        cursor = body["next_cursor"]
        page += 1


def create_user(http: httpx.Client, email: str, name: str, **fields: Any) -> Any:
    response = http.post("/api/v2/users", json={"email": email, "name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def create_group(http: httpx.Client, name: str, **fields: Any) -> Any:
    response = http.post("/api/v2/groups", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def add_member(
    http: httpx.Client, group_id: str, user_id: str, role: str = "member"
) -> Any:
    response = http.put(
        f"/api/v2/groups/{group_id}/members/{user_id}", json={"role": role}
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def feed(http: httpx.Client) -> list[dict[str, Any]]:
    """Return an organisation's whole change feed."""
    items: list[dict[str, Any]] = []
    after = "0"
    while True:
        response = http.get("/api/v2/changes", params={"after": after, "limit": 1000})
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        after = body["next_cursor"]
        if not body["has_more"]:
            return items


@dataclass
class OrgKeys:
    name: str
    id: uuid.UUID
    api_key: str
    reader_key: str


def new_org(db: Database, prefix: str = "org") -> OrgKeys:
    """Create an organisation with an admin and a reader key, straight in the
    database."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    with db.write() as session:
        org = create_org(session, name)
        admin = create_key(session, org, "admin-key", "admin")
        reader = create_key(session, org, "reader-key", "reader")
        org_id = org.id
    return OrgKeys(name, org_id, admin.secret, reader.secret)


def read_csv(name: str) -> list[dict[str, str]]:
    with (EXAMPLES / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def example_memberships() -> dict[tuple[str, str], str]:
    """Return the example's memberships as (group name, email) -> role, merged
    from users.csv and memberships.csv the way the importer merges them."""
    merged: dict[tuple[str, str], str] = {}
    for row in read_csv("users.csv"):
        for group in filter(None, (g.strip() for g in row["groups"].split(";"))):
            merged.setdefault((group, row["email"]), "member")
    for row in read_csv("memberships.csv"):
        key = (row["group"], row["email"])
        if merged.get(key) != "maintainer":
            merged[key] = row["role"] or "member"
    return merged


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        # Signals belong to pytest's main thread.
        pass


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yield its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, lifespan="off"
    )
    server = _ThreadedServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start within 20 s")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
