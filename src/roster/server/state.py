"""The state that the running app shares between requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from roster.store.db import Database
from roster.store.paging import PageMemory


@dataclass
class AppState:
    db: Database
    memory: PageMemory = field(default_factory=PageMemory)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.roster
    return state
