"""Markdown tables of benchmark results, as written by ``run.py``.

Run alone to print the tables of result files again::

    python benchmarks/summary.py benchmarks/results/<run>-*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _median_p95(stats: dict[str, Any]) -> str:
    if not stats.get("n"):
        return "n/a"
    return f"{stats['median_ms']:,.1f} / {stats['p95_ms']:,.1f}"


def load_table(results: list[dict[str, Any]]) -> str:
    rows = []
    for result in results:
        dataset = result["dataset"]
        load = dataset["load"]
        rows.append(
            [
                result["backend"],
                dataset["users"],
                dataset["groups"],
                dataset["memberships"],
                load["rows"],
                load["method"],
                load["generate_seconds"],
                load["write_seconds"],
                load["write_rows_per_second"],
                load["total_seconds"],
                "reused" if dataset["reused"] else "built now",
            ]
        )
    header = [
        "backend",
        "users",
        "groups",
        "memberships",
        "rows",
        "method",
        "generate s",
        "write s",
        "write rows/s",
        "total s",
        "this run",
    ]
    return _table(header, rows)


def page_table(results: list[dict[str, Any]]) -> str:
    rows = []
    for result in results:
        seek = result.get("walk_page_latency", {})
        for label, stats in result.get("cold_pages", {}).items():
            in_walk = seek.get(label, {})
            rows.append(
                [
                    result["backend"],
                    f"{label} ({stats['page']:,})",
                    _median_p95(stats["cold"]),
                    stats["cold"].get("n"),
                    _median_p95(stats["repeat"]),
                    stats["repeat"].get("n"),
                    _median_p95(in_walk),
                    in_walk.get("n"),
                ]
            )
    header = [
        "backend",
        "page",
        "cold, median / p95 ms",
        "n",
        "repeat, median / p95 ms",
        "n",
        "in a page-number walk, median / p95 ms",
        "n",
    ]
    return _table(header, rows)


def walk_table(results: list[dict[str, Any]]) -> str:
    rows = []
    for result in results:
        for walk in result.get("walks", []):
            edges = walk["edges"]
            rss = walk["rss"]
            rows.append(
                [
                    result["backend"],
                    walk["name"],
                    walk["client"],
                    walk["pages"],
                    walk["users"],
                    walk["seconds"],
                    walk["users_per_second"],
                    edges.get("first_mean_ms"),
                    edges.get("last_mean_ms"),
                    edges.get("ratio_mean"),
                    edges.get("ratio_median"),
                    walk["end_request_ms"],
                    f"{rss.get('start_mib')} / {rss.get('max_mib')} / "
                    f"{rss.get('end_mib')}",
                    rss.get("growth_after_5pct_mib"),
                    walk["stopped_early"] or "complete",
                ]
            )
    header = [
        "backend",
        "listing",
        "client",
        "pages",
        "users",
        "walk s",
        "users/s",
        "first 5 % mean ms",
        "last 5 % mean ms",
        "last/first (means)",
        "last/first (medians)",
        "empty end page ms",
        "RSS start / max / end MiB",
        "RSS growth after 5 % MiB",
        "walk",
    ]
    return _table(header, rows)


#: The queries of ``offset_paging.py``: (name in the results, label).
DATABASE_QUERIES = (
    ("offset", "OFFSET, full rows"),
    ("seek", "seek (keyset), full rows"),
    ("key_offset", "OFFSET, key (email_norm, id) only"),
    ("email_key_offset", "OFFSET, key email_norm only"),
)


def database_table(results: list[dict[str, Any]]) -> str:
    rows = []
    for result in results:
        database = result.get("database")
        if not database:
            continue
        for name, label in DATABASE_QUERIES:
            estimate = database.get(f"{name}_estimate")
            if estimate is None:
                continue
            rows.append(
                [
                    result["backend"],
                    label,
                    len(database["samples"]),
                    estimate["first_5pct_mean_ms"],
                    estimate["last_5pct_mean_ms"],
                    estimate["ratio_mean"],
                    estimate["walk_seconds"],
                    database["count_ms"],
                    database["groups_of_page_ms"],
                ]
            )
    header = [
        "backend",
        "paging",
        "sampled pages",
        "first 5 % mean ms",
        "last 5 % mean ms",
        "last/first",
        "estimated walk s",
        "COUNT ms",
        "groups of 100 users ms",
    ]
    return _table(header, rows)


def render(results: list[dict[str, Any]]) -> str:
    """Return every table, each under a heading."""
    sections = [
        ("Data", load_table(results)),
        ("Single pages (limit=100)", page_table(results)),
        ("Walks over every page (limit=100)", walk_table(results)),
        ("OFFSET and seek on the database, no HTTP", database_table(results)),
    ]
    # A table with no rows, from a part that did not run, is left out.
    filled = [(title, table) for title, table in sections if table.count("\n") > 1]
    return "\n\n".join(f"### {title}\n\n{table}" for title, table in filled) + "\n"


def main(argv: list[str]) -> int:
    results = [json.loads(Path(path).read_text()) for path in argv]
    sys.stdout.write(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
