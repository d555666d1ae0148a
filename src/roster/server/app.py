"""The ASGI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from roster.server.context import RequestIdMiddleware
from roster.server.errors import install_error_handlers
from roster.server.openapi import install_openapi
from roster.server.params import reject_repeated_parameters
from roster.server.routes import feed, groups, health, users
from roster.server.state import AppState
from roster.store.db import Database
from roster.store.paging import PageMemory

log = logging.getLogger(__name__)

VERSION = "0.1.0"


def create_app(db: Database, *, memory: PageMemory | None = None) -> FastAPI:
    """Build the app around a database whose schema is already migrated."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info("Roster %s started; database %s", VERSION, db.describe())
        yield
        db.dispose()
        log.info("Roster stopped")

    app = FastAPI(
        title="Roster",
        version=VERSION,
        summary="An organisation's users, groups and memberships",
        lifespan=lifespan,
        dependencies=[Depends(reject_repeated_parameters)],
    )
    if memory is None:
        memory = PageMemory()
    app.state.roster = AppState(db=db, memory=memory)
    install_error_handlers(app)
    install_openapi(app)
    for module in (users, groups, feed, health):
        app.include_router(module.router)
    app.add_middleware(RequestIdMiddleware)
    return app
