"""Pieces shared by the route modules: paged bodies, idempotent creates, ETags."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from roster.server import params
from roster.server.auth import Caller
from roster.server.errors import ApiError, invalid_parameter
from roster.server.state import AppState
from roster.store.changes import lock_org
from roster.store.models import IdempotencyRecord
from roster.store.paging import InvalidCursor, Page
from roster.store.views import etag

IDEMPOTENCY_KEY_MAX = 255
_IDEMPOTENCY_KEY = re.compile(rf"[\x20-\x7e]{{1,{IDEMPOTENCY_KEY_MAX}}}")


def paged_body(page: Page[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": items,
        "total": page.total,
        "page": page.page,
        "limit": page.limit,
        "pages": math.ceil(page.total / page.limit) if page.total else 0,
        "has_more": page.has_more,
        "next_cursor": page.next_cursor,
    }


@contextmanager
def cursor_errors() -> Iterator[None]:
    """Turn an invalid cursor into a 400 naming the ``cursor`` parameter."""
    try:
        yield
    except InvalidCursor as error:
        raise invalid_parameter(str(error)) from error


def read_if_match(
    request: Request,
    if_match: Annotated[
        str | None,
        Header(description='* or ETags from earlier responses, such as "3"'),
    ] = None,
) -> frozenset[int] | None:
    """Parse every ``If-Match`` header line of the request.

    The ``if_match`` parameter only documents the header: a request may send
    several lines, which together form one list (RFC 9110 section 5.3).
    """
    return params.parse_if_match(request.headers.getlist("if-match"))


#: The versions an ``If-Match`` header accepts; None when any version does.
IfMatch = Annotated[frozenset[int] | None, Depends(read_if_match)]


def with_etag(body: dict[str, Any], version: int, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"ETag": etag(version)})


def read_json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(
            400, "invalid_body", f"request body is not valid JSON: {error}"
        ) from error
    except RecursionError as error:
        raise ApiError(
            400, "invalid_body", "request body is nested too deeply to parse"
        ) from error
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "request body must be a JSON object")
    return body


#: Largest request body the server reads, in bytes. Roster's bodies are a few
#: fields, so anything near this is a mistake or an attack.
MAX_BODY_BYTES = 1024 * 1024


async def json_body(request: Request) -> dict[str, Any]:
    """Read the request body as a JSON object, rejecting bodies over the limit
    with a 413 before reading all of them."""
    too_large = ApiError(
        413,
        "body_too_large",
        f"request body is larger than {MAX_BODY_BYTES} bytes; send less data",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return read_json(b"".join(chunks))


def idempotent_create(
    state: AppState,
    caller: Caller,
    request_key: str | None,
    fingerprint: tuple[Any, ...],
    create: Callable[[Session], tuple[dict[str, Any], int]],
) -> Response:
    """Run ``create`` once per ``Idempotency-Key``.

    ``create`` returns the response body and the ETag version. A repeated key with
    the same request gets the stored response back; with another request it is a
    409. The record is written in the same transaction as the resource, so a crash
    cannot leave one without the other.
    """
    if request_key is not None and not _IDEMPOTENCY_KEY.fullmatch(request_key):
        raise invalid_parameter(
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII "
            f"characters, got {request_key!r}"
        )
    request_hash = hashlib.sha256(
        json.dumps(fingerprint, sort_keys=True, default=str).encode()
    ).hexdigest()
    with state.db.write() as session:
        if request_key is None:
            body, version = create(session)
            return with_etag(body, version, 201)
        lock_org(session, caller.org_id)
        record = session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.org_id == caller.org_id,
                IdempotencyRecord.key == request_key,
            )
        )
        if record is not None:
            if record.request_hash != request_hash:
                raise ApiError(
                    409,
                    "idempotency_key_reused",
                    f"Idempotency-Key {request_key!r} was used for a different "
                    "request; use a new key for a new request",
                )
            headers = {"Idempotent-Replayed": "true"}
            stored_version = record.body.get("_etag_version")
            body = {k: v for k, v in record.body.items() if k != "_etag_version"}
            if stored_version is not None:
                headers["ETag"] = etag(stored_version)
            return JSONResponse(body, status_code=record.status_code, headers=headers)
        body, version = create(session)
        session.add(
            IdempotencyRecord(
                org_id=caller.org_id,
                key=request_key,
                request_hash=request_hash,
                status_code=201,
                body={**body, "_etag_version": version},
            )
        )
    return with_etag(body, version, 201)


async def in_thread(function: Callable[..., Response], *args: Any) -> Response:
    """Run blocking database work off the event loop.

    Routes that read the request body are async; their database work still runs
    in the thread pool, like the sync routes.
    """
    return await run_in_threadpool(function, *args)
