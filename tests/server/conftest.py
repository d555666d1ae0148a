"""HTTP clients for the live server of ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from server_helpers import client


@pytest.fixture
def admin(org: Any) -> Iterator[httpx.Client]:
    """A client with the admin key of a fresh organisation."""
    with client(org.url, org.api_key) as http:
        yield http


@pytest.fixture
def reader(org: Any) -> Iterator[httpx.Client]:
    """A client with the reader key of the same organisation as ``admin``."""
    with client(org.url, org.reader_key) as http:
        yield http


@pytest.fixture(scope="session")
def k8s(k8s_org: Any) -> Iterator[httpx.Client]:
    """A client with the admin key of the example organisation.

    The organisation is shared by every test of a backend, so tests only read
    through this client.
    """
    with client(k8s_org.url, k8s_org.api_key) as http:
        yield http
