"""Client settings: timeouts, base URL and API key, with their environment fallbacks."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import httpx

from roster.exceptions import InvalidArgumentError

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_BASE_URL",
    "URL_ENV",
    "Timeouts",
    "resolve_api_key",
    "resolve_base_url",
]

URL_ENV = "ROSTER_URL"
API_KEY_ENV = "ROSTER_API_KEY"
DEFAULT_BASE_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class Timeouts:
    """Timeouts of a client, in seconds.

    Attributes:
        connect: maximum time to open a connection.
        read: maximum time between two chunks of a response.
        write: maximum time between two chunks of a request.
        pool: maximum time to wait for a free connection in the client's pool.
        total: deadline of one call, its retries and their delays included. No
            retry starts when its delay would pass the deadline, and each attempt's
            other timeouts are cut to the time left.

    NOTE: ``total`` cannot interrupt an attempt, so a response whose chunks arrive
    just inside the read timeout each can keep one attempt past the deadline.
    """

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 5.0
    total: float = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "write", "pool", "total"):
            value = getattr(self, name)
            valid = isinstance(value, int | float) and not isinstance(value, bool)
            if not valid or not 0 < value < math.inf:
                raise InvalidArgumentError(
                    f"Timeouts.{name} must be a positive finite number of seconds, "
                    f"got {value!r}"
                )

    @classmethod
    def coerce(cls, value: Timeouts | float) -> Timeouts:
        """Return ``value`` as Timeouts.

        A number sets connect, read, write and pool. The total deadline stays at
        its default of 60 s, or is the number when that is larger.
        """
        if isinstance(value, Timeouts):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidArgumentError(
                f"timeout must be a Timeouts or a number of seconds, got {value!r}"
            )
        seconds = float(value)
        total = max(cls.total, seconds)
        return cls(
            connect=seconds, read=seconds, write=seconds, pool=seconds, total=total
        )

    def for_attempt(self, remaining: float) -> httpx.Timeout:
        """Return the httpx timeouts of one attempt with ``remaining`` seconds left."""
        # A socket timeout of zero means non-blocking, and a negative one is invalid,
        # so a spent deadline still gets 1 ms.
        left = max(remaining, 0.001)
        return httpx.Timeout(
            connect=min(self.connect, left),
            read=min(self.read, left),
            write=min(self.write, left),
            pool=min(self.pool, left),
        )


def resolve_base_url(base_url: str | None) -> str:
    """Return the base URL without a trailing slash.

    Falls back to the ``ROSTER_URL`` environment variable, then to
    ``http://127.0.0.1:8080``. Raises InvalidArgumentError for a URL that is not
    http or https with a host, or that has a query or fragment.
    """
    if base_url is None:
        base_url = os.environ.get(URL_ENV) or DEFAULT_BASE_URL
    if not isinstance(base_url, str):
        raise InvalidArgumentError(f"base_url must be a str, got {base_url!r}")

    try:
        url = httpx.URL(base_url.strip())
    except httpx.InvalidURL as error:
        raise InvalidArgumentError(f"Invalid base_url {base_url!r}: {error}") from error
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidArgumentError(
            f"Invalid base_url {base_url!r}: expected http:// or https:// and a host"
        )
    if url.query or url.fragment:
        raise InvalidArgumentError(
            f"Invalid base_url {base_url!r}: it must not have a query or fragment"
        )
    return str(url).rstrip("/")


def resolve_api_key(api_key: str | None) -> str:
    """Return the API key, falling back to the ``ROSTER_API_KEY`` environment variable.

    Raises InvalidArgumentError when there is no key or the key cannot go into an
    HTTP header. The message never contains the key.
    """
    if api_key is None:
        api_key = os.environ.get(API_KEY_ENV) or None
    if api_key is None:
        raise InvalidArgumentError(
            f"No API key: pass api_key= or set the {API_KEY_ENV} environment variable"
        )
    if not isinstance(api_key, str):
        raise InvalidArgumentError(
            f"api_key must be a str, got a {type(api_key).__name__}"
        )

    key = api_key.strip()
    if not key:
        raise InvalidArgumentError(
            f"The API key is empty: pass api_key= or set {API_KEY_ENV}"
        )
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise InvalidArgumentError(
            "The API key contains whitespace, control or non-ASCII characters, which "
            "an Authorization header cannot carry"
        )
    return key
