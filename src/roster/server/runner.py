"""Running the app under uvicorn."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Iterator
from types import FrameType

import uvicorn

from roster.server.app import create_app
from roster.store.db import Database

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn's server, ending the process with status 0 on SIGINT and SIGTERM.

    uvicorn raises a caught SIGINT or SIGTERM again once it has shut down, so the
    process would end with KeyboardInterrupt (exit status 130) or be killed by
    SIGTERM. By then Roster has stopped cleanly, so the signal is only logged.
    """

    stop_signal: int | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Only record the signal here: logging inside a signal handler could
        # interleave with a log call the main thread was making.
        if self.stop_signal is None:
            self.stop_signal = sig
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        for server in self.servers:
            for listener in server.sockets:
                host, port = listener.getsockname()[:2]
                host = f"[{host}]" if ":" in host else host
                log.info("Roster listening on http://%s:%d", host, port)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.stop_signal is not None:
            reason = signal.Signals(self.stop_signal).name
            log.info("Roster stopping on %s", reason)
        await super().shutdown(sockets)


def serve(db: Database, *, host: str, port: int) -> None:
    """Migrate the database and serve until SIGINT or SIGTERM, then return.

    On either signal the server stops accepting connections, lets requests in
    flight finish for up to 10 s, runs the app's shutdown and returns normally.
    """
    db.upgrade()
    log.info("database %s is at revision %s", db.describe(), db.current_revision())
    config = uvicorn.Config(
        create_app(db),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
    _Server(config).run()
