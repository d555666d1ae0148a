"""An HTTP/1.1 server on 127.0.0.1 that plays scripted responses, for SDK tests.

Each request, on any connection, takes the next action from the script: a reply
(optionally slow), a close without a response, a reset (RST) before the response,
or a reset in the middle of the body. Requests beyond the script get a 418, so a
test that sends too many gets an error. Every request is recorded.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    418: "I'm a teapot",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Reply:
    """Send a response. A ``body`` that is not bytes or str is sent as JSON."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded_body(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Close:
    """Close the connection after reading the request, without a response."""


@dataclass
class Reset:
    """Reset the connection (RST) after reading the request."""


@dataclass
class ResetMidBody:
    """Send the headers and part of the body, then reset the connection."""

    status: int = 200
    body: bytes = b'{"items": [{"id": "1"}, '
    declared_length: int = 500


Action = Reply | Close | Reset | ResetMidBody


@dataclass
class Received:
    """A request as the server read it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    """Threaded server; use as a context manager or call start() and stop()."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._actions: deque[Action] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.requests: list[Received] = []

    def __enter__(self) -> ScriptedServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def play(self, *actions: Action) -> None:
        """Append actions to the script."""
        with self._lock:
            self._actions.extend(actions)

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self._port))
        listener.listen(64)
        # stop() wakes a blocked accept() with shutdown(); the timeout is a fallback.
        listener.settimeout(1.0)
        self._port = listener.getsockname()[1]
        self._listener = listener
        self._spawn(self._accept_loop)

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=2)
        if self._listener is not None:
            self._listener.close()

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(None)
            with self._lock:
                self._connections.append(connection)
            self._spawn(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        reader = connection.makefile("rb")
        try:
            while not self._stopping.is_set():
                request = self._read_request(reader)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                    action = self._actions.popleft() if self._actions else None
                if action is None:
                    action = Reply(418, {"error": {"code": "unscripted"}})
                if not self._perform(connection, action):
                    return
        except OSError:
            return
        finally:
            reader.close()
            with contextlib.suppress(OSError):
                connection.close()

    def _read_request(self, reader: Any) -> Received | None:
        line = reader.readline()
        if not line:
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            header = reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = reader.read(length) if length else b""
        parts = urlsplit(target)
        return Received(method, parts.path, parse_qs(parts.query), headers, body)

    def _perform(self, connection: socket.socket, action: Action) -> bool:
        """Carry out an action and tell whether the connection stays open."""
        if isinstance(action, Close):
            return False
        if isinstance(action, Reset):
            _reset(connection)
            return False
        if isinstance(action, ResetMidBody):
            head = _head(action.status, {"Content-Length": str(action.declared_length)})
            connection.sendall(head + action.body)
            _reset(connection)
            return False

        if action.delay and self._stopping.wait(action.delay):
            return False
        body = action.encoded_body()
        headers = {"Content-Length": str(len(body))}
        if body and not isinstance(action.body, bytes | str):
            headers["Content-Type"] = "application/json"
        headers.update(action.headers)
        connection.sendall(_head(action.status, headers) + body)
        return True


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _reset(connection: socket.socket) -> None:
    """Close with SO_LINGER 0, which sends RST instead of FIN."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def free_port() -> int:
    """Return a loopback port that nothing listens on, so connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def page(
    items: list[dict[str, Any]],
    *,
    has_more: bool = False,
    next_cursor: str | None = None,
    page_number: int = 1,
    limit: int = 100,
) -> dict[str, Any]:
    """Build a paged response body as the server sends it."""
    return {
        "items": items,
        "total": len(items),
        "page": page_number,
        "limit": limit,
        "pages": 1,
        "has_more": has_more,
        "next_cursor": next_cursor,
    }


def error(code: str, message: str, request_id: str = "req-1") -> dict[str, Any]:
    """Build the server's error body."""
    return {"error": {"code": code, "message": message, "request_id": request_id}}
