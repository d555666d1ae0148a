"""OFFSET paging against keyset paging, measured on the database without HTTP.

A client that pages with ``LIMIT/OFFSET`` makes the database read and discard
every row before the page, so page ``p`` costs time proportional to ``p`` and a
walk over all pages costs O(pages²). Walking all pages that way would take hours
on a million users, so this module times a sample of pages instead: a few in the
first and last 5 % and the rest evenly spread. For each sampled page it times

* ``offset``: the server's own users query (``directory.users_query``, no
  filters) ordered by ``email_norm, id`` with ``LIMIT 101 OFFSET (page-1)*100``;
* ``seek``: the same query with ``WHERE (email_norm, id) > <last key of the
  previous page>`` and no OFFSET, which is what the server runs when it has a
  cursor or has remembered the previous page's boundary.

Both load full ``User`` objects through the ORM, as the server does, and each is
the median of ``repetitions`` runs. The time of a whole walk is then estimated by
linear interpolation between the sampled pages; it is an estimate, not a
measurement.

Two more timings per sampled page show what finding a page boundary by OFFSET
could cost if only the sort key were read (``SELECT <key> ... OFFSET k LIMIT 1``),
which an index can serve without reading table rows:

* ``key_offset``: the key the server sorts by, ``email_norm, id``;
* ``email_key_offset``: ``email_norm`` alone, which is unique in an organisation
  (``uq_users_org_email``) and therefore a complete sort key by itself.

The module also times the query that counts the listing's rows and the query
that finds the groups of one page of users, and records the database's plans.
Before any timing it runs the OFFSET query of the last page and the count once,
so that the tables and indexes are in the operating system's page cache.
"""

from __future__ import annotations

import math
import statistics
import time
import uuid
from typing import Any

from sqlalchemy import Select, func, select, text, tuple_
from sqlalchemy.orm import Session

from roster.store.db import Database, resolve_url
from roster.store.directory import UserFilters, group_ids_of_users, users_query
from roster.store.models import User


def sample_pages(pages: int, evenly: int) -> list[int]:
    """Return sorted page numbers: ``evenly`` spread over 1..pages, plus three in
    each of the first and last 5 %."""
    chosen = {1, pages}
    for index in range(evenly):
        chosen.add(1 + round(index * (pages - 1) / max(evenly - 1, 1)))
    edge = max(1, math.ceil(pages * 0.05))
    for step in range(3):
        chosen.add(1 + round(step * (edge - 1) / 2))
        chosen.add(pages - round(step * (edge - 1) / 2))
    return sorted(p for p in chosen if 1 <= p <= pages)


def _timed(run: Any, repetitions: int) -> float:
    times = []
    for _ in range(repetitions):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _ordered(query: Select[Any]) -> Select[Any]:
    return query.order_by(User.email_norm, User.id)


def measure(
    url: str,
    org_id: str,
    users: int,
    *,
    limit: int,
    evenly: int,
    repetitions: int,
) -> dict[str, Any]:
    database = Database(resolve_url(url))
    org = uuid.UUID(org_id)
    pages = math.ceil(users / limit)
    samples = []
    try:
        with database.read() as session:
            _warm_up(session, org, pages, limit)
        for page in sample_pages(pages, evenly):
            with database.read() as session:
                samples.append(_measure_page(session, org, page, limit, repetitions))
        middle = pages // 2 + 1
        with database.read() as session:
            extras = _measure_extras(session, org, middle, limit, repetitions)
            plans = {}
            if middle > 1:
                plans = _plans(session, database.dialect, org, middle, limit)
    finally:
        database.dispose()

    estimates = {}
    for name in ("offset", "seek", "key_offset", "email_key_offset"):
        points = [(sample["page"], sample[f"{name}_ms"]) for sample in samples]
        estimates[f"{name}_estimate"] = _walk_estimate(_interpolate(points, pages))
    return {
        "pages": pages,
        "limit": limit,
        "repetitions": repetitions,
        "samples": samples,
        **estimates,
        **extras,
        "plans": plans,
    }


def _warm_up(session: Session, org: uuid.UUID, pages: int, limit: int) -> None:
    base = users_query(session, org, UserFilters())
    list(session.scalars(_ordered(base).limit(limit).offset((pages - 1) * limit)))
    session.scalar(select(func.count()).select_from(base.subquery()))


def _measure_page(
    session: Session, org: uuid.UUID, page: int, limit: int, repetitions: int
) -> dict[str, Any]:
    base = users_query(session, org, UserFilters())
    skip = (page - 1) * limit
    offset_query = _ordered(base).limit(limit + 1).offset(skip)
    offset_seconds = _timed(lambda: list(session.scalars(offset_query)), repetitions)

    seek_query = _ordered(base).limit(limit + 1)
    if page > 1:
        key_query = _ordered(select(User.email_norm, User.id).where(User.org_id == org))
        key = session.execute(key_query.offset(skip - 1).limit(1)).one()
        seek_query = seek_query.where(tuple_(User.email_norm, User.id) > tuple_(*key))
    seek_rows: list[User] = []

    def run_seek() -> None:
        seek_rows[:] = session.scalars(seek_query)

    seek_seconds = _timed(run_seek, repetitions)
    offset_rows = list(session.scalars(offset_query))
    if [u.id for u in seek_rows] != [u.id for u in offset_rows]:
        raise RuntimeError(f"seek and OFFSET disagree on page {page}")

    key_query = _ordered(select(User.email_norm, User.id).where(User.org_id == org))
    key_seconds = _timed(
        lambda: session.execute(key_query.offset(skip).limit(1)).all(), repetitions
    )
    email_key_query = (
        select(User.email_norm)
        .where(User.org_id == org)
        .order_by(User.email_norm)
        .offset(skip)
        .limit(1)
    )
    email_key_seconds = _timed(
        lambda: session.execute(email_key_query).all(), repetitions
    )
    return {
        "page": page,
        "offset_ms": round(offset_seconds * 1000, 3),
        "seek_ms": round(seek_seconds * 1000, 3),
        "key_offset_ms": round(key_seconds * 1000, 3),
        "email_key_offset_ms": round(email_key_seconds * 1000, 3),
    }


def _measure_extras(
    session: Session, org: uuid.UUID, page: int, limit: int, repetitions: int
) -> dict[str, Any]:
    base = users_query(session, org, UserFilters())
    count_query = select(func.count()).select_from(base.subquery())
    count_seconds = _timed(lambda: session.scalar(count_query), repetitions)
    rows = list(session.scalars(_ordered(base).limit(limit).offset((page - 1) * limit)))
    ids = [u.id for u in rows]
    groups_seconds = _timed(lambda: group_ids_of_users(session, ids), repetitions)
    return {
        "count_ms": round(count_seconds * 1000, 3),
        "groups_of_page_ms": round(groups_seconds * 1000, 3),
    }


def _plans(
    session: Session, dialect: str, org: uuid.UUID, page: int, limit: int
) -> dict[str, str]:
    """Return the database's plans for the middle page's OFFSET and seek queries."""
    base = users_query(session, org, UserFilters())
    skip = (page - 1) * limit
    key = session.execute(
        _ordered(select(User.email_norm, User.id).where(User.org_id == org))
        .offset(skip - 1)
        .limit(1)
    ).one()
    queries = {
        "offset": _ordered(base).limit(limit + 1).offset(skip),
        "seek": _ordered(base)
        .where(tuple_(User.email_norm, User.id) > tuple_(*key))
        .limit(limit + 1),
        "count": select(func.count()).select_from(base.subquery()),
        "key_offset": _ordered(
            select(User.email_norm, User.id).where(User.org_id == org)
        )
        .offset(skip)
        .limit(1),
        "email_key_offset": select(User.email_norm)
        .where(User.org_id == org)
        .order_by(User.email_norm)
        .offset(skip)
        .limit(1),
    }
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN ANALYZE "
    plans = {}
    for name, query in queries.items():
        compiled = query.compile(
            dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
        )
        rows = session.execute(text(prefix + str(compiled))).all()
        plans[name] = "\n".join(" ".join(str(c) for c in row) for row in rows)
    return plans


def _interpolate(points: list[tuple[int, float]], pages: int) -> list[float]:
    """Return a latency for every page 1..pages, linear between sampled pages."""
    if len(points) == 1:
        return [points[0][1]] * pages
    series = []
    index = 0
    for page in range(1, pages + 1):
        while index + 1 < len(points) - 1 and points[index + 1][0] < page:
            index += 1
        (left_page, left), (right_page, right) = points[index], points[index + 1]
        if right_page == left_page:
            series.append(left)
            continue
        weight = (page - left_page) / (right_page - left_page)
        series.append(left + weight * (right - left))
    return series


def _walk_estimate(series_ms: list[float]) -> dict[str, Any]:
    window = max(1, math.ceil(len(series_ms) * 0.05))
    first = statistics.fmean(series_ms[:window])
    last = statistics.fmean(series_ms[-window:])
    return {
        "walk_seconds": round(sum(series_ms) / 1000, 1),
        "first_5pct_mean_ms": round(first, 3),
        "last_5pct_mean_ms": round(last, 3),
        "ratio_mean": round(last / first, 2),
    }
