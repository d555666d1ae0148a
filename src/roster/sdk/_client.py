"""The blocking client, and the setup that it shares with the async client."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from types import TracebackType

import httpx

from roster.sdk._breaker import CircuitBreaker, CircuitBreakerPolicy
from roster.sdk._config import Timeouts, resolve_api_key, resolve_base_url
from roster.sdk._engine import EngineSettings, SyncEngine
from roster.sdk._pages import CursorCache
from roster.sdk._requests import Requests
from roster.sdk._retry import RetryPolicy
from roster.sdk._users import ChangesService, UsersService

__all__ = ["Client", "ClientSetup"]

DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()
DEFAULT_BREAKER = CircuitBreakerPolicy()


@functools.cache
def _user_agent() -> str:
    try:
        version = metadata.version("orgroster")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"roster-python/{version}"


@dataclass(frozen=True)
class ClientSetup:
    """Settings of a client, resolved and checked once at construction."""

    base_url: str
    headers: dict[str, str]
    settings: EngineSettings

    @classmethod
    def build(
        cls,
        base_url: str | None,
        api_key: str | None,
        timeout: Timeouts | float,
        retry: RetryPolicy | None,
        circuit_breaker: CircuitBreakerPolicy | None,
        clock: Callable[[], float],
    ) -> ClientSetup:
        """Resolve the environment fallbacks and build the shared settings.

        Raises InvalidArgumentError for a missing API key or an invalid setting.
        """
        url = resolve_base_url(base_url)
        key = resolve_api_key(api_key)
        breaker = None
        if circuit_breaker is not None:
            breaker = CircuitBreaker(circuit_breaker, url, clock)
        settings = EngineSettings(
            timeouts=Timeouts.coerce(timeout),
            retry=retry if retry is not None else RetryPolicy.disabled(),
            breaker=breaker,
            clock=clock,
        )
        headers = {
            "Authorization": f"UserKey {key}",
            "Accept": "application/json",
            "User-Agent": _user_agent(),
        }
        return cls(url, headers, settings)

    def default_timeout(self) -> httpx.Timeout:
        """Return the httpx client's default timeouts. Each attempt sets its own."""
        timeouts = self.settings.timeouts
        return timeouts.for_attempt(timeouts.total)


class Client:
    """Blocking client of a Roster server, with one connection pool.

    Construct it once and share it between threads. ``client.users`` has the
    users, groups and memberships calls, and ``client.changes`` the change feed and
    audit log. Close it with ``close()`` or a ``with`` block.

    Args:
        base_url: server URL. Defaults to the ``ROSTER_URL`` environment variable,
            then ``http://127.0.0.1:8080``.
        api_key: API key, sent as ``Authorization: UserKey <key>``. Defaults to the
            ``ROSTER_API_KEY`` environment variable. Without either, the
            constructor raises InvalidArgumentError.
        timeout: ``Timeouts``, or a number of seconds for connect, read, write and
            pool. Defaults to ``Timeouts()``: 5 s connect, 30 s read and write,
            5 s pool and 60 s total per call.
        retry: ``RetryPolicy``, or None to send each request once. Defaults to 4
            attempts with full-jitter backoff from 0.2 s, at most 5 s per delay.
        circuit_breaker: ``CircuitBreakerPolicy``, or None for no breaker.
            Defaults to opening after 5 consecutive failures for 30 s.
        transport: httpx transport, for tests or custom networking. By default
            httpx builds its own, which never retries by itself.
        sleep: function that waits between retries and change-feed polls, for
            tests.
        clock: monotonic clock in seconds, for deadlines and the breaker, for
            tests.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: Timeouts | float = DEFAULT_TIMEOUTS,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        circuit_breaker: CircuitBreakerPolicy | None = DEFAULT_BREAKER,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        setup = ClientSetup.build(
            base_url, api_key, timeout, retry, circuit_breaker, clock
        )
        self.base_url = setup.base_url
        self.timeouts = setup.settings.timeouts
        self.retry = setup.settings.retry
        self.circuit_breaker = setup.settings.breaker

        self._http = httpx.Client(
            base_url=setup.base_url,
            headers=setup.headers,
            timeout=setup.default_timeout(),
            transport=transport,
            follow_redirects=False,
        )
        engine = SyncEngine(self._http, setup.settings, sleep)
        requests = Requests(CursorCache())
        self.users = UsersService(engine, requests)
        self.changes = ChangesService(engine, requests)

    def __repr__(self) -> str:
        return f"<roster.Client base_url={self.base_url!r}>"

    @property
    def is_closed(self) -> bool:
        """Whether ``close()`` has been called."""
        return self._http.is_closed

    def close(self) -> None:
        """Close the connection pool. Calls after this raise RuntimeError."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
