"""HTTP measurements of ``GET /api/v2/users`` against a running server.

Two kinds of measurement:

* ``measure_cold_pages`` times single pages on a server that has remembered
  nothing. For each repetition it starts a fresh ``roster serve`` and sends one
  warm-up request that touches no remembered page or count of the listing
  (``email=warmup@invalid.example``). It then times the target page with no
  cursor. On this "cold" request the server counts the rows and, past page 1,
  skips rows with OFFSET. Last, it times the same page a few more times on that
  server. On these "repeat" requests the total count is remembered, but no page
  boundary before the target is.
* ``walk`` times every request of the reference client's loop: ``limit=100``,
  ``page=1, 2, ...`` until a page comes back empty, while ``RssSampler`` records
  the server's memory. Two clients run the loop. ``raw_fetcher`` sends only
  ``limit`` and ``page`` with httpx, as the published client does, so the server
  must seek from the page boundaries it remembers. ``sdk_fetcher`` calls Roster's
  SDK, which sends the previous page's ``next_cursor``.

Latencies are wall-clock seconds around one call on the client, from sending the
request to having the JSON decoded, over keep-alive connections on loopback.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from serverproc import RosterServer, RssSampler

#: Fetches one page; returns its items and the ``total`` the server sent, if any.
Fetcher = Callable[[int], tuple[list[dict[str, Any]], int | None]]

WARMUP_PARAMS = {"limit": "1", "email": "warmup@invalid.example"}
HTTP_TIMEOUT = 600.0


def api_client(base_url: str, api_key: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"UserKey {api_key}"},
        timeout=HTTP_TIMEOUT,
    )


def get_users(http: httpx.Client, params: dict[str, Any]) -> dict[str, Any]:
    """Send ``GET /api/v2/users`` and return the decoded body.

    Raises RuntimeError with the server's error body on any status but 200.
    """
    response = http.get("/api/v2/users", params=params)
    if response.status_code != 200:
        raise RuntimeError(
            f"GET {response.request.url} returned {response.status_code}: "
            f"{response.text[:500]}"
        )
    body: dict[str, Any] = response.json()
    return body


# Statistics


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile, e.g. ``fraction=0.95`` for p95."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarize_ms(seconds: list[float]) -> dict[str, Any]:
    """Return count, median, p95, mean, min and max of latencies, in ms."""
    if not seconds:
        return {"n": 0}
    millis = [s * 1000 for s in seconds]
    return {
        "n": len(millis),
        "median_ms": round(statistics.median(millis), 2),
        "p95_ms": round(percentile(millis, 0.95), 2),
        "mean_ms": round(statistics.fmean(millis), 2),
        "min_ms": round(min(millis), 2),
        "max_ms": round(max(millis), 2),
    }


def edge_ratio(seconds: list[float], fraction: float = 0.05) -> dict[str, Any]:
    """Compare the last ``fraction`` of a walk's pages with the first.

    Returns the mean and median of each window in ms and their ratios, last over
    first. A ratio near 1 means a page costs the same wherever it is; OFFSET
    paging makes it grow with the page number.
    """
    if not seconds:
        return {}
    window = max(1, math.ceil(len(seconds) * fraction))
    first = [s * 1000 for s in seconds[:window]]
    last = [s * 1000 for s in seconds[-window:]]
    first_mean, last_mean = statistics.fmean(first), statistics.fmean(last)
    first_median, last_median = statistics.median(first), statistics.median(last)
    return {
        "window_pages": window,
        "first_mean_ms": round(first_mean, 2),
        "last_mean_ms": round(last_mean, 2),
        "ratio_mean": round(last_mean / first_mean, 3),
        "first_median_ms": round(first_median, 2),
        "last_median_ms": round(last_median, 2),
        "ratio_median": round(last_median / first_median, 3),
    }


def profile(seconds: list[float], buckets: int = 20) -> list[float]:
    """Return the mean latency in ms of each of ``buckets`` equal slices of a walk."""
    if not seconds:
        return []
    size = len(seconds) / buckets
    means = []
    for index in range(buckets):
        chunk = seconds[int(index * size) : max(int((index + 1) * size), 1)]
        if chunk:
            means.append(round(statistics.fmean(chunk) * 1000, 2))
    return means


# Cold pages


def measure_cold_pages(
    make_server: Callable[[], RosterServer],
    api_key: str,
    targets: dict[str, int],
    *,
    limit: int,
    repetitions: int,
    repeats: int,
) -> dict[str, Any]:
    """Time each target page cold on fresh servers, then repeated on the same one.

    ``targets`` maps a label ("first", "middle", "last") to a page number.
    """
    results: dict[str, Any] = {}
    for label, page in targets.items():
        cold: list[float] = []
        repeated: list[float] = []
        for _ in range(repetitions):
            with make_server() as server, api_client(server.base_url, api_key) as http:
                get_users(http, WARMUP_PARAMS)
                params = {"limit": limit, "page": page}
                started = time.perf_counter()
                body = get_users(http, params)
                cold.append(time.perf_counter() - started)
                if len(body["items"]) == 0:
                    raise RuntimeError(f"page {page} ({label}) is empty")
                for _ in range(repeats):
                    started = time.perf_counter()
                    get_users(http, params)
                    repeated.append(time.perf_counter() - started)
        results[label] = {
            "page": page,
            "cold": summarize_ms(cold),
            "repeat": summarize_ms(repeated),
        }
    return results


# Walks


def raw_fetcher(http: httpx.Client, params: dict[str, Any], limit: int) -> Fetcher:
    """Return a fetcher that sends only the filters, ``limit`` and ``page``."""

    def fetch(page: int) -> tuple[list[dict[str, Any]], int | None]:
        body = get_users(http, {**params, "limit": limit, "page": page})
        return body["items"], body.get("total")

    return fetch


@contextmanager
def sdk_fetcher(
    base_url: str, api_key: str, params: dict[str, Any], limit: int
) -> Iterator[Fetcher]:
    """Yield a fetcher that calls ``client.users.list_users(limit, page, ...)``.

    Retries and the circuit breaker are off, so every failure shows.
    """
    import roster

    client = roster.Client(
        base_url=base_url,
        api_key=api_key,
        timeout=HTTP_TIMEOUT,
        retry=None,
        circuit_breaker=None,
    )

    def fetch(page: int) -> tuple[list[dict[str, Any]], int | None]:
        items = client.users.list_users(limit=limit, page=page, **params)
        return list(items), None

    with client:
        yield fetch


@dataclass
class WalkResult:
    name: str
    client: str
    params: dict[str, Any]
    limit: int
    pages: int = 0
    users: int = 0
    distinct_users: int = 0
    total_reported: int | None = None
    seconds: float = 0.0
    stopped_early: str | None = None
    #: Seconds of each request for a non-empty page, in page order.
    latencies: list[float] = field(default_factory=list)
    #: Seconds of the request that returned the empty page ending the walk.
    end_request: float | None = None
    rss_samples: list[tuple[float, Any, int]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "client": self.client,
            "params": self.params,
            "limit": self.limit,
            "pages": self.pages,
            "users": self.users,
            "distinct_users": self.distinct_users,
            "total_reported": self.total_reported,
            "seconds": round(self.seconds, 3),
            "users_per_second": round(self.users / self.seconds) if self.seconds else 0,
            "stopped_early": self.stopped_early,
            "latency": summarize_ms(self.latencies),
            "edges": edge_ratio(self.latencies),
            "profile_ms": profile(self.latencies),
            "end_request_ms": (
                round(self.end_request * 1000, 2)
                if self.end_request is not None
                else None
            ),
            "rss": rss_summary(self.rss_samples, self.pages),
            "latencies_ms": [round(s * 1000, 3) for s in self.latencies],
            "rss_samples": self.rss_samples,
        }


def walk(
    fetch: Fetcher,
    result: WalkResult,
    *,
    server_pid: int,
    max_seconds: float,
    rss_interval: float = 0.5,
) -> WalkResult:
    """Fetch pages 1, 2, ... until one is empty or ``max_seconds`` have passed.

    Fills ``result`` and checks that no user came twice.
    """
    seen: set[str] = set()
    page = 1
    started = time.perf_counter()
    deadline = started + max_seconds
    with RssSampler(server_pid, lambda: page, rss_interval) as sampler:
        while True:
            if time.perf_counter() > deadline:
                result.stopped_early = (
                    f"stopped after {max_seconds:.0f} s at page {page} "
                    "(--max-walk-seconds)"
                )
                break
            begin = time.perf_counter()
            items, total = fetch(page)
            elapsed = time.perf_counter() - begin
            if not items:
                result.end_request = elapsed
                break
            result.latencies.append(elapsed)
            if total is not None:
                result.total_reported = total
            result.users += len(items)
            seen.update(item["id"] for item in items)
            page += 1
    result.seconds = time.perf_counter() - started
    result.pages = len(result.latencies)
    result.distinct_users = len(seen)
    result.rss_samples = sampler.samples
    return result


def rss_summary(samples: list[tuple[float, Any, int]], pages: int) -> dict[str, Any]:
    """Return RSS at the start, after 5 % of the pages, at the maximum and the end,
    in MiB, and the growth after the first 5 % (max minus that value)."""
    if not samples:
        return {}
    mib = [(elapsed, page, kib / 1024) for elapsed, page, kib in samples]
    five_percent_page = max(1, math.ceil(pages * 0.05))
    after_warmup = next((s for s in mib if s[1] >= five_percent_page), mib[-1])
    peak = max(s[2] for s in mib)
    return {
        "samples": len(mib),
        "start_mib": round(mib[0][2], 1),
        "after_5pct_mib": round(after_warmup[2], 1),
        "max_mib": round(peak, 1),
        "end_mib": round(mib[-1][2], 1),
        "growth_after_5pct_mib": round(peak - after_warmup[2], 1),
    }
