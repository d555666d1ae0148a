"""The time the server spends on each step of one page of ``GET /api/v2/users``.

Usage, on a database that ``loader.py`` or ``run.py`` built::

    python benchmarks/page_breakdown.py --users 1000000 --backend postgres

Runs the steps of the listing route in this process, without HTTP, for a walk
over ``--pages`` consecutive pages starting in the middle of the listing, and
reports the median of each step in ms:

* ``auth``: the API-key look-up that every request makes in its own read
  transaction (``roster.store.orgs.find_key``);
* ``page``: ``directory.list_users`` with the page boundary remembered, which
  reads the organisation's version and seeks to the page;
* ``groups``: ``directory.user_views``, which finds the groups of the page's
  users and builds their JSON objects;
* ``serialize``: encoding the body to JSON bytes with the standard library, as a
  rough stand-in for what FastAPI and Starlette do.

The sum is the part of a request's latency spent in Roster's own code and the
database. The rest of an HTTP request's latency is spent in uvicorn, FastAPI and
the client.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import loader
from roster.server.routes.common import paged_body
from roster.store import directory
from roster.store.db import Database, resolve_url
from roster.store.directory import UserFilters
from roster.store.orgs import find_key
from roster.store.paging import PageMemory

STEPS = ("auth", "page", "groups", "serialize")


def measure(
    url: str, org_id: str, users: int, pages: int, limit: int
) -> dict[str, Any]:
    """Return the median ms of each step over ``pages`` pages from the middle."""
    database = Database(resolve_url(url))
    org = uuid.UUID(org_id)
    memory = PageMemory()
    start = max(1, users // limit // 2)
    api_key = loader.create_api_key(url, org_id)
    times: dict[str, list[float]] = {step: [] for step in STEPS}
    try:
        # The first page of the range is found by OFFSET and remembered, so the
        # pages after it seek, as in a walk.
        _one_page(database, org, start, limit, memory, api_key)
        for page in range(start + 1, start + 1 + pages):
            for step, seconds in _one_page(
                database, org, page, limit, memory, api_key
            ).items():
                times[step].append(seconds)
    finally:
        database.dispose()
    medians = {
        f"{step}_ms": round(statistics.median(values) * 1000, 3)
        for step, values in times.items()
    }
    medians["total_ms"] = round(sum(medians.values()), 3)
    return {"first_page": start + 1, "pages": pages, "limit": limit, **medians}


def _one_page(
    database: Database,
    org: uuid.UUID,
    page: int,
    limit: int,
    memory: PageMemory,
    api_key: str,
) -> dict[str, float]:
    started = time.perf_counter()
    with database.read() as session:
        if find_key(session, api_key) is None:
            raise RuntimeError("the benchmark API key was not found")
    authenticated = time.perf_counter()
    with database.read() as session:
        result = directory.list_users(
            session,
            org,
            filters=UserFilters(),
            sort="email",
            limit=limit,
            page=page,
            cursor=None,
            memory=memory,
        )
        listed = time.perf_counter()
        items = directory.user_views(session, result.rows)
        viewed = time.perf_counter()
    json.dumps(paged_body(result, items), ensure_ascii=False).encode()
    serialized = time.perf_counter()
    return {
        "auth": authenticated - started,
        "page": listed - authenticated,
        "groups": viewed - listed,
        "serialize": serialized - viewed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres", "both"), default="both"
    )
    parser.add_argument("--data-dir", type=Path, default=loader.DEFAULT_DATA_DIR)
    parser.add_argument("--postgres-url", default=loader.DEFAULT_POSTGRES_URL)
    parser.add_argument("--pages", type=int, default=300, help="Pages to time.")
    parser.add_argument("--limit", type=int, default=100, help="Page size.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        dataset = loader.prepare(
            backend,
            args.users,
            data_dir=args.data_dir,
            postgres_url=args.postgres_url,
        )
        loader.warm_cache(dataset.url)
        result = measure(
            dataset.url, dataset.org_id, args.users, args.pages, args.limit
        )
        print(json.dumps({"backend": backend, "users": args.users, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
