"""Per-request context: the request id, set by ``RequestIdMiddleware``."""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


class RequestIdMiddleware:
    """Give every request an id and send it back as ``X-Request-ID``.

    A well-formed id sent by the client is kept, so one id follows a call through
    the client's and the server's logs. An exception that no handler took becomes
    a 500 here, inside the middleware, so that it too carries the id. Its
    traceback goes to the log and never into the response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _CLIENT_ID.fullmatch(sent) else uuid.uuid4().hex
        token = request_id_var.set(request_id)

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception(
                "unhandled error on %s %s (request id %s)",
                scope.get("method"),
                scope.get("path"),
                request_id,
            )
            if started:
                raise
            body = {
                "error": {
                    "code": "internal_error",
                    "message": "internal error; see the server log",
                    "request_id": request_id,
                }
            }
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send_with_id(
                {"type": "http.response.body", "body": json.dumps(body).encode()}
            )
        finally:
            request_id_var.reset(token)
