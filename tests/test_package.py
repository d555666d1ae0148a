"""Properties of the package as a whole: what importing the SDK loads, and its
public names."""

from __future__ import annotations

import json
import subprocess
import sys

import roster

SERVER_MODULES = {
    "alembic",
    "click",
    "email_validator",
    "fastapi",
    "psycopg",
    "rich",
    "sqlalchemy",
    "starlette",
    "uvicorn",
    "roster.cli",
    "roster.importers",
    "roster.server",
    "roster.store",
}

# httpx loads click and rich for its own command line when they are installed,
# so the probe counts only the modules that importing roster adds after httpx.
PROBE = """
import json, sys
import httpx
before = set(sys.modules)
import roster
client = roster.Client(base_url="http://127.0.0.1:9", api_key="rst_probe")
async_client = roster.AsyncClient(base_url="http://127.0.0.1:9", api_key="rst_probe")
client.close()
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_sdk_import_loads_no_server_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout))

    unexpected = {
        name
        for name in loaded
        for banned in SERVER_MODULES
        if name == banned or name.startswith(banned + ".")
    }
    assert unexpected == set()
    assert "roster.sdk" in loaded


def test_public_names_are_sorted_and_importable() -> None:
    # Constants first, then the rest, as ruff's RUF022 sorts them.
    assert roster.__all__ == sorted(roster.__all__, key=lambda n: (not n.isupper(), n))
    for name in roster.__all__:
        assert getattr(roster, name) is not None


def test_exception_tree_matches_the_reference() -> None:
    from roster.exceptions import (
        GroupError,
        GroupNotFoundError,
        UserError,
        UserNotFoundError,
    )

    assert issubclass(UserNotFoundError, UserError)
    assert issubclass(GroupNotFoundError, GroupError)
    assert not issubclass(GroupError, UserError)
    assert not issubclass(UserError, GroupError)
