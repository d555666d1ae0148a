"""Running the app under uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from roster.server.app import create_app
from roster.store.db import Database

log = logging.getLogger(__name__)


def serve(db: Database, *, host: str, port: int) -> None:
    """Migrate the database and serve until SIGINT or SIGTERM.

    uvicorn handles both signals: it stops accepting connections, lets requests in
    flight finish, runs the app's shutdown and returns.
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
    log.info(
        "listening on http://%s:%d", host if ":" not in host else f"[{host}]", port
    )
    uvicorn.Server(config).run()
