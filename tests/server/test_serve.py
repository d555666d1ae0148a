"""``roster serve`` as a process: start, serve requests, stop on a signal."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from roster.server.app import VERSION
from roster.store.db import Database

LISTENING = re.compile(r"Roster listening on (http://127\.0\.0\.1:(\d+))")


@dataclass
class Process:
    popen: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    url: str | None = None
    listening: threading.Event = field(default_factory=threading.Event)

    @property
    def log(self) -> str:
        return "".join(self.lines)


@contextmanager
def roster_serve(database: str) -> Iterator[Process]:
    """Run ``roster serve`` on a free port; yield once it has logged its URL."""
    popen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "roster.cli.main",
            "serve",
            "--port",
            "0",
            "--database",
            database,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    process = Process(popen)

    def read() -> None:
        assert popen.stderr is not None
        for line in popen.stderr:
            process.lines.append(line)
            match = LISTENING.search(line)
            if match:
                process.url = match.group(1)
                process.listening.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        process.listening.wait(timeout=60)
        yield process
    finally:
        if popen.poll() is None:
            popen.kill()
        popen.wait(timeout=30)
        reader.join(timeout=10)
        assert popen.stderr is not None
        popen.stderr.close()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly_on_signal(backend: Database, stop: signal.Signals) -> None:
    database = backend.url.render_as_string(hide_password=False)

    with roster_serve(database) as process:
        assert process.url is not None, process.log
        health = httpx.get(f"{process.url}/healthz", timeout=10)
        ready = httpx.get(f"{process.url}/readyz", timeout=10)
        process.popen.send_signal(stop)
        code = process.popen.wait(timeout=30)

    log = process.log
    assert health.status_code == 200
    assert ready.status_code == 200
    assert code == 0
    assert f"Roster stopping on {stop.name}" in log
    assert "Roster stopped" in log
    assert "Traceback" not in log
    assert log.index("Roster listening on") < log.index("Roster stopped")


def test_serve_logs_its_database(backend: Database) -> None:
    database = backend.url.render_as_string(hide_password=False)

    with roster_serve(database) as process:
        process.popen.send_signal(signal.SIGTERM)
        process.popen.wait(timeout=30)

    started = [line for line in process.lines if f"Roster {VERSION} started" in line]
    assert len(started) == 1
    assert str(backend.url.database) in started[0]
