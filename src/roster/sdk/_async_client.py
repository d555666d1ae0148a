"""The asyncio client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

import httpx

from roster.sdk._async_users import AsyncChangesService, AsyncUsersService
from roster.sdk._breaker import CircuitBreakerPolicy
from roster.sdk._client import (
    DEFAULT_BREAKER,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUTS,
    ClientSetup,
)
from roster.sdk._config import Timeouts
from roster.sdk._engine import AsyncEngine
from roster.sdk._pages import CursorCache
from roster.sdk._requests import Requests
from roster.sdk._retry import RetryPolicy

__all__ = ["AsyncClient"]


class AsyncClient:
    """Asyncio client of a Roster server, built on ``httpx.AsyncClient``.

    Takes the arguments of ``Client`` and has the same methods, which are
    coroutines, and ``iter_*`` and ``follow_changes`` return async iterators.
    Retries wait with ``asyncio.sleep``, or with the ``sleep`` coroutine function
    given, and the circuit breaker takes its lock only for a few assignments, so
    calls do not block the event loop. Close it with ``await client.aclose()`` or an
    ``async with`` block, on the event loop that used it.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: Timeouts | float = DEFAULT_TIMEOUTS,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        circuit_breaker: CircuitBreakerPolicy | None = DEFAULT_BREAKER,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        setup = ClientSetup.build(
            base_url, api_key, timeout, retry, circuit_breaker, clock
        )
        self.base_url = setup.base_url
        self.timeouts = setup.settings.timeouts
        self.retry = setup.settings.retry
        self.circuit_breaker = setup.settings.breaker

        self._http = httpx.AsyncClient(
            base_url=setup.base_url,
            headers=setup.headers,
            timeout=setup.default_timeout(),
            transport=transport,
            follow_redirects=False,
        )
        engine = AsyncEngine(self._http, setup.settings, sleep)
        requests = Requests(CursorCache())
        self.users = AsyncUsersService(engine, requests)
        self.changes = AsyncChangesService(engine, requests)

    def __repr__(self) -> str:
        return f"<roster.AsyncClient base_url={self.base_url!r}>"

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose()`` has been called."""
        return self._http.is_closed

    async def aclose(self) -> None:
        """Close the connection pool. Calls after this raise RuntimeError."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
