"""API-key authentication: every request runs as one key of one organisation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from roster.server.errors import ApiError
from roster.server.state import AppState, get_state
from roster.store.orgs import find_key

_SCHEMES = ("userkey", "bearer")
_UNAUTHENTICATED = (
    "missing or invalid API key; send 'Authorization: UserKey <key>' with a key "
    "from `roster keys create`"
)


@dataclass(frozen=True)
class Caller:
    org_id: uuid.UUID
    org_name: str
    key_name: str
    role: str

    @property
    def can_write(self) -> bool:
        return self.role == "admin"


def authenticate(
    request: Request, state: Annotated[AppState, Depends(get_state)]
) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() not in _SCHEMES or not secret or len(secret) > 200:
        raise ApiError(401, "unauthenticated", _UNAUTHENTICATED, _challenge())
    with state.db.read() as session:
        found = find_key(session, secret)
    if found is None:
        raise ApiError(401, "unauthenticated", _UNAUTHENTICATED, _challenge())
    key, org = found
    return Caller(org_id=org.id, org_name=org.name, key_name=key.name, role=key.role)


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'UserKey realm="roster", Bearer realm="roster"'}


def require_writer(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
    if not caller.can_write:
        raise ApiError(
            403,
            "forbidden",
            f"API key {caller.key_name!r} is a reader key; writes need an admin key",
        )
    return caller


Reader = Annotated[Caller, Depends(authenticate)]
Writer = Annotated[Caller, Depends(require_writer)]
