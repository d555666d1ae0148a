"""A real ``roster serve`` process for the benchmarks, and its memory samples.

``RosterServer`` starts ``roster serve --host 127.0.0.1 --port <free port>
--database <url>`` as a child process, waits until ``GET /readyz`` returns 200,
and stops it with SIGTERM (SIGKILL after a timeout). The server's log goes to a
file under the results directory.

``RssSampler`` reads the resident set size of a process from ``VmRSS`` in
``/proc/<pid>/status`` (Linux only) every ``interval`` seconds on a thread, and
records each sample with the progress value that the caller reports, such as the
page being fetched.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

log = logging.getLogger("benchmarks.serverproc")

#: The ``roster`` console script of the running interpreter's environment.
DEFAULT_ROSTER = Path(sys.executable).with_name("roster")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    Another process could take it before the server binds it; the server then
    fails to start and ``RosterServer.start`` raises with its log.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RosterServer:
    """One ``roster serve`` child process on 127.0.0.1."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        roster: Path = DEFAULT_ROSTER,
        start_timeout: float = 120.0,
    ) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.roster = roster
        self.start_timeout = start_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("server is not running")
        return self._process.pid

    def start(self) -> None:
        """Start the server and wait until it is ready.

        Raises RuntimeError, with the end of the server's log, if it exits or is
        not ready within ``start_timeout`` seconds.
        """
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            str(self.roster),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database",
            self.database_url,
        ]
        with self.log_path.open("ab") as log_file:
            self._process = subprocess.Popen(
                command, stdout=log_file, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + self.start_timeout
        with httpx.Client(base_url=self.base_url, timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"roster serve exited with code {self._process.returncode}; "
                        f"log {self.log_path}:\n{self._log_tail()}"
                    )
                try:
                    if client.get("/readyz").status_code == 200:
                        log.info("server pid %d ready on %s", self.pid, self.base_url)
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"roster serve was not ready after {self.start_timeout:.0f} s; "
            f"log {self.log_path}:\n{self._log_tail()}"
        )

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server with SIGTERM, then SIGKILL after ``timeout`` seconds."""
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("server pid %d ignored SIGTERM; killing it", process.pid)
            process.kill()
            process.wait()

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError as error:
            return f"(log unreadable: {error})"

    def __enter__(self) -> RosterServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def rss_kib(pid: int) -> int:
    """Return the resident set size of a process in KiB, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS line")


class RssSampler:
    """Samples a process's RSS on a thread while a ``with`` block runs.

    Each sample is ``(seconds since start, progress(), RSS in KiB)``. One sample is
    taken when the block starts and one when it ends, so even a short block has
    two.
    """

    def __init__(
        self, pid: int, progress: Callable[[], Any], interval: float = 0.5
    ) -> None:
        self.pid = pid
        self.progress = progress
        self.interval = interval
        self.samples: list[tuple[float, Any, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = 0.0

    def _sample(self) -> None:
        try:
            rss = rss_kib(self.pid)
        except (OSError, RuntimeError) as error:
            log.warning("cannot read RSS of pid %d: %s", self.pid, error)
            return
        elapsed = time.monotonic() - self._started
        self.samples.append((round(elapsed, 3), self.progress(), rss))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> RssSampler:
        self._started = time.monotonic()
        self._sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
