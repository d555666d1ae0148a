"""Liveness and readiness probes; neither needs an API key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from roster.server.state import AppState, get_state

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Report that the process is running")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get("/readyz", summary="Report whether the database answers and is migrated")
def readyz(state: Annotated[AppState, Depends(get_state)]) -> JSONResponse:
    try:
        with state.db.read() as session:
            session.execute(text("SELECT 1"))
        current = state.db.current_revision()
    except SQLAlchemyError as error:
        reason = f"database unavailable: {type(error).__name__}"
        return JSONResponse({"status": "unavailable", "reason": reason}, 503)
    head = state.db.head_revision()
    if current != head:
        reason = (
            f"schema at revision {current}, expected {head}; run `roster db upgrade`"
        )
        return JSONResponse({"status": "unavailable", "reason": reason}, 503)
    return JSONResponse({"status": "ok", "revision": current})
