"""Fixtures of the SDK tests: a scripted server, fake time and client factories."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio

import roster

from .scripted_server import ScriptedServer

API_KEY = "sdk-test-key-7Hq2Zr"


class FakeTime:
    """Monotonic clock and sleep functions that record delays and never wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


# Backoff without jitter, so that tests can assert the exact delays: 0.2, 0.4, 0.8.
EXACT_RETRY = roster.RetryPolicy(
    max_attempts=4, base_delay=0.2, max_delay=5.0, jitter="none"
)
SHORT_TIMEOUTS = roster.Timeouts(connect=2.0, read=2.0, write=2.0, pool=2.0, total=60.0)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(fake_time: FakeTime) -> Iterator[Callable[..., roster.Client]]:
    clients: list[roster.Client] = []

    def make(url: str, **options: Any) -> roster.Client:
        options.setdefault("api_key", API_KEY)
        options.setdefault("retry", EXACT_RETRY)
        options.setdefault("timeout", SHORT_TIMEOUTS)
        options.setdefault("sleep", fake_time.sleep)
        options.setdefault("clock", fake_time.clock)
        client = roster.Client(url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest_asyncio.fixture
async def make_async_client(
    fake_time: FakeTime,
) -> AsyncIterator[Callable[..., roster.AsyncClient]]:
    clients: list[roster.AsyncClient] = []

    def make(url: str, **options: Any) -> roster.AsyncClient:
        options.setdefault("api_key", API_KEY)
        options.setdefault("retry", EXACT_RETRY)
        options.setdefault("timeout", SHORT_TIMEOUTS)
        options.setdefault("sleep", fake_time.async_sleep)
        options.setdefault("clock", fake_time.clock)
        client = roster.AsyncClient(url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
