"""Benchmarks of Roster's user listing on SQLite and PostgreSQL.

Usage::

    python benchmarks/run.py --users 1000000 --backend both
    python benchmarks/run.py --quick --backend sqlite

For each backend the run

1. builds, or reuses, a database holding one organisation of ``--users`` users
   with groups and memberships (``loader.py``, rows from ``synthetic.py``), and
   reports rows per second of the load;
2. times OFFSET paging against keyset seeks directly on the database, on sampled
   pages (``offset_paging.py``);
3. starts real ``roster serve`` processes on 127.0.0.1 and times over HTTP
   (``listing.py``) the first, middle and last page, each cold on fresh servers;
4. walks every page with ``limit=100, page=1, 2, ...`` until an empty page, on a
   fresh server per walk, while sampling the server's RSS. Each listing, with
   and without filters and sorts, is walked twice: by a client that sends only
   page numbers and by Roster's SDK.

Before the database measurements and before each server start, the run reads the
database into the operating system's page cache (``loader.warm_cache``), so that
every measurement starts warm.

Each backend's results go to ``benchmarks/results/<time>-<backend>-<users>.json``
(git-ignored), the server logs to ``benchmarks/results/logs/``, and the tables to
stdout and ``benchmarks/results/<time>-<users>.md``.

The servers import Roster from the same place as this script. To measure one
fixed version while others edit the checkout, export it and put it first on the
path, for example::

    git archive HEAD src | tar -x -C /tmp/roster-snapshot
    PYTHONPATH=/tmp/roster-snapshot/src python benchmarks/run.py

``--quick`` means 10,000 users unless ``--users`` is given, fewer repetitions and
a shorter time limit per walk. Every walk stops after ``--max-walk-seconds``, and
its result records where it stopped.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

import listing
import loader
import offset_paging
import roster
import summary
import synthetic
from serverproc import RosterServer

log = logging.getLogger("benchmarks.run")

RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: The walks of every run: (listing name, filters and sort).
WALKS: tuple[tuple[str, dict[str, str]], ...] = (
    ("all users, by email", {}),
    ("status=active, sort=-created_at", {"status": "active", "sort": "-created_at"}),
    ("email_domain=example.fr", {"email_domain": "example.fr"}),
    ("name_contains=mar, sort=name", {"name_contains": "mar", "sort": "name"}),
)
#: The clients that walk: (value of --clients, label in the results).
CLIENTS = (("raw", "page numbers (httpx)"), ("sdk", "SDK (cursors)"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark Roster's user listing over HTTP on SQLite and "
        "PostgreSQL.",
    )
    parser.add_argument(
        "--users",
        type=int,
        help="Users in the generated organisation (default 1,000,000; 10,000 "
        "with --quick).",
    )
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres", "both"), default="both"
    )
    parser.add_argument(
        "--quick", action="store_true", help="Fewer repetitions, for a quick check."
    )

    parser.add_argument(
        "--postgres-url",
        default=loader.DEFAULT_POSTGRES_URL,
        help="PostgreSQL server and credentials; the run creates its own database "
        "roster_bench_<users> there.",
    )
    parser.add_argument("--data-dir", type=Path, default=loader.DEFAULT_DATA_DIR)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED)
    parser.add_argument(
        "--rebuild", action="store_true", help="Rebuild the database even if reusable."
    )
    parser.add_argument(
        "--sqlite-analyze",
        action="store_true",
        help="Run ANALYZE on a newly built SQLite database.",
    )

    parser.add_argument("--limit", type=int, default=100, help="Page size.")
    parser.add_argument(
        "--cold-repetitions",
        type=int,
        help="Fresh servers per cold page (default 5; 3 with --quick).",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="Repeated requests of the same page on each of those servers.",
    )
    parser.add_argument(
        "--offset-samples",
        type=int,
        default=21,
        help="Pages sampled evenly for the OFFSET estimate, besides 6 at the edges.",
    )
    parser.add_argument(
        "--max-walk-seconds",
        type=float,
        help="Time limit of each walk in seconds (default 1500; 300 with --quick).",
    )

    parser.add_argument(
        "--walks",
        default="all",
        help="Comma-separated numbers (1-based) of the walks to run, or 'all': "
        + "; ".join(f"{i}: {name}" for i, (name, _) in enumerate(WALKS, 1)),
    )
    parser.add_argument(
        "--parts",
        default="database,cold,walks",
        help="Comma-separated parts to run: database (OFFSET and seek without "
        "HTTP), cold (single pages on fresh servers), walks.",
    )
    parser.add_argument(
        "--clients",
        choices=("both", "raw", "sdk"),
        default="both",
        help="Which clients walk: page numbers only (raw), the SDK, or both.",
    )

    args = parser.parse_args(argv)
    if args.users is None:
        args.users = 10_000 if args.quick else 1_000_000
    if args.cold_repetitions is None:
        args.cold_repetitions = 3 if args.quick else 5
    if args.max_walk_seconds is None:
        args.max_walk_seconds = 300.0 if args.quick else 1500.0
    args.parts = set(args.parts.split(","))
    unknown = args.parts - {"database", "cold", "walks"}
    if unknown:
        parser.error(f"unknown --parts {', '.join(sorted(unknown))}")
    if args.users < 2 * args.limit:
        parser.error(f"--users must be at least twice --limit ({args.limit})")
    return args


def selected_walks(spec: str) -> list[tuple[str, dict[str, str]]]:
    if spec == "all":
        return list(WALKS)
    try:
        return [WALKS[int(part) - 1] for part in spec.split(",")]
    except (ValueError, IndexError) as error:
        raise SystemExit(
            f"invalid --walks {spec!r}: give numbers from 1 to {len(WALKS)}"
        ) from error


# The machine


def describe_machine(postgres_url: str, backends: list[str]) -> dict[str, Any]:
    """Return what the figures depend on: CPU, memory, versions, load."""
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "mem_total_gib": round(_meminfo_kib("MemTotal") / 1024**2, 1),
        "mem_available_gib": round(_meminfo_kib("MemAvailable") / 1024**2, 1),
        "load_average": os.getloadavg(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {},
        # The package that this process and the servers import: the checkout's
        # src/ unless PYTHONPATH puts another copy first.
        "roster_package": str(Path(roster.__file__).parent),
        "git_commit": _git("rev-parse", "HEAD"),
        # Files of the package that differ from that commit, if any.
        "git_changed_source": (
            _git("status", "--porcelain", "--", "../src") or ""
        ).splitlines(),
    }
    for package in ("sqlalchemy", "fastapi", "uvicorn", "httpx", "psycopg"):
        try:
            info["packages"][package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info["packages"][package] = None
    if "postgres" in backends:
        conninfo = make_url(postgres_url).render_as_string(hide_password=False)
        with psycopg.connect(conninfo) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            info["postgresql"] = row[0] if row else None
            settings = {}
            for name in ("shared_buffers", "work_mem", "effective_cache_size"):
                row = connection.execute(f"SHOW {name}").fetchone()
                settings[name] = row[0] if row else None
            info["postgresql_settings"] = settings
    return info


def _cpu_model() -> str | None:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def _meminfo_kib(field: str) -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/meminfo has no {field}")


def _git(*arguments: str) -> str | None:
    try:
        completed = subprocess.run(
            ["git", *arguments],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return completed.stdout.strip()


# One backend


def run_backend(
    args: argparse.Namespace, backend: str, stamp: str, machine: dict[str, Any]
) -> dict[str, Any]:
    started = time.monotonic()
    log.info("%s: preparing %d users", backend, args.users)
    dataset = loader.prepare(
        backend,
        args.users,
        data_dir=args.data_dir,
        postgres_url=args.postgres_url,
        seed=args.seed,
        rebuild=args.rebuild,
        sqlite_analyze=args.sqlite_analyze,
    )
    schema_upgrade = loader.upgrade_schema(dataset.url)
    api_key = loader.create_api_key(dataset.url, dataset.org_id)
    log_path = args.results_dir / "logs" / f"{stamp}-{backend}-{args.users}.log"

    def make_server() -> RosterServer:
        """Return a server, not yet started, after warming the page cache."""
        warm_page_cache(dataset.url)
        return RosterServer(dataset.url, log_path)

    result: dict[str, Any] = {
        "backend": backend,
        "started_at": datetime.now(UTC).isoformat(),
        "machine": machine,
        "settings": {
            key: _jsonable(value)
            for key, value in vars(args).items()
            if key != "postgres_url"
        },
        "dataset": asdict(dataset),
        "schema_upgrade": schema_upgrade,
    }

    if "database" in args.parts:
        log.info("%s: OFFSET and seek on the database", backend)
        warm_page_cache(dataset.url)
        result["database"] = offset_paging.measure(
            dataset.url,
            dataset.org_id,
            args.users,
            limit=args.limit,
            evenly=args.offset_samples,
            repetitions=3,
        )

    pages = math.ceil(args.users / args.limit)
    targets = {"first": 1, "middle": pages // 2 + 1, "last": pages}
    if "cold" in args.parts:
        log.info("%s: cold pages %s", backend, targets)
        result["cold_pages"] = listing.measure_cold_pages(
            make_server,
            api_key,
            targets,
            limit=args.limit,
            repetitions=args.cold_repetitions,
            repeats=args.repeats,
        )

    result["walks"] = []
    walks = selected_walks(args.walks) if "walks" in args.parts else []
    for name, params in walks:
        for client_key, client in CLIENTS:
            if args.clients not in ("both", client_key):
                continue
            log.info("%s: walk %r with %s", backend, name, client)
            walk = run_walk(
                make_server, api_key, name, client_key, client, params, args
            )
            summary_of_walk = walk.summary()
            summary_of_walk["problems"] = check_walk(
                walk, args.users if not params else None
            )
            result["walks"].append(summary_of_walk)
            if not params and client_key == "raw":
                result["walk_page_latency"] = latency_around(walk.latencies, targets)
            log.info(
                "%s: %d pages, %d users in %.1f s, last/first %.2f, RSS %s",
                backend,
                walk.pages,
                walk.users,
                walk.seconds,
                summary_of_walk["edges"].get("ratio_mean", math.nan),
                summary_of_walk["rss"],
            )

    result["load_average_after"] = os.getloadavg()
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def warm_page_cache(url: str) -> None:
    started = time.perf_counter()
    size = loader.warm_cache(url)
    log.debug(
        "read %.0f MiB into the page cache in %.1f s",
        size / 2**20,
        time.perf_counter() - started,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set):
        return sorted(value)
    return value


def run_walk(
    make_server: Callable[[], RosterServer],
    api_key: str,
    name: str,
    client_key: str,
    client: str,
    params: dict[str, str],
    args: argparse.Namespace,
) -> listing.WalkResult:
    """Walk every page on a fresh server, so that each walk starts cold."""
    result = listing.WalkResult(
        name=name, client=client, params=params, limit=args.limit
    )
    with make_server() as server:
        if client_key == "sdk":
            with listing.sdk_fetcher(
                server.base_url, api_key, params, args.limit
            ) as fetch:
                listing.walk(
                    fetch,
                    result,
                    server_pid=server.pid,
                    max_seconds=args.max_walk_seconds,
                )
        else:
            with listing.api_client(server.base_url, api_key) as http:
                listing.walk(
                    listing.raw_fetcher(http, params, args.limit),
                    result,
                    server_pid=server.pid,
                    max_seconds=args.max_walk_seconds,
                )
    return result


def check_walk(walk: listing.WalkResult, expected_users: int | None) -> list[str]:
    """Return, and log, what is wrong with a finished walk: users repeated or
    missed."""
    if walk.stopped_early:
        return []
    problems = []
    if walk.distinct_users != walk.users:
        problems.append(
            f"returned {walk.users} users but only {walk.distinct_users} distinct"
        )
    expected = expected_users if expected_users is not None else walk.total_reported
    if expected is not None and walk.users != expected:
        problems.append(f"returned {walk.users} users, expected {expected}")
    for problem in problems:
        log.error("walk %r (%s) %s", walk.name, walk.client, problem)
    return problems


def latency_around(
    latencies: list[float], targets: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """Return latency statistics of the pages near each target page of a walk:
    the first, middle or last 1 % of the pages (at least 5)."""
    window = max(5, math.ceil(len(latencies) * 0.01))
    around = {}
    for label, page in targets.items():
        index = min(max(page - 1 - window // 2, 0), max(len(latencies) - window, 0))
        around[label] = listing.summarize_ms(latencies[index : index + window])
    return around


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request at INFO, which would drown the progress lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    machine = describe_machine(args.postgres_url, backends)

    results = []
    for backend in backends:
        result = run_backend(args, backend, stamp, machine)
        path = args.results_dir / f"{stamp}-{backend}-{args.users}.json"
        path.write_text(json.dumps(result, indent=1) + "\n")
        log.info("%s: results in %s", backend, path)
        results.append(result)

    tables = summary.render(results)
    (args.results_dir / f"{stamp}-{args.users}.md").write_text(tables)
    sys.stdout.write(tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
