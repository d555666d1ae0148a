"""Construction of the blocking client: settings, environment, headers, closing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types

import httpx
import pytest

import roster

from .conftest import API_KEY
from .scripted_server import Reply, page


def test_base_url_and_key_come_from_environment(monkeypatch, server):
    monkeypatch.setenv("ROSTER_URL", server.url + "/")
    monkeypatch.setenv("ROSTER_API_KEY", "env-key")
    server.play(Reply(200, page([])))

    with roster.Client() as client:
        client.users.list_users()

    assert client.base_url == server.url
    assert server.requests[0].headers["authorization"] == "UserKey env-key"


def test_base_url_defaults_to_local_port_8080(monkeypatch):
    monkeypatch.delenv("ROSTER_URL", raising=False)

    with roster.Client(api_key="k") as client:
        assert client.base_url == "http://127.0.0.1:8080"


def test_missing_api_key_names_environment_variable(monkeypatch):
    monkeypatch.delenv("ROSTER_API_KEY", raising=False)

    with pytest.raises(roster.InvalidArgumentError) as caught:
        roster.Client("http://127.0.0.1:8080")

    assert "ROSTER_API_KEY" in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("key", ["", "   ", "two words", "line\nbreak", "clé"])
def test_unusable_api_key_is_rejected_without_echo(key):
    with pytest.raises(roster.InvalidArgumentError) as caught:
        roster.Client("http://127.0.0.1:8080", api_key=key)

    if key.strip():
        assert key not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["127.0.0.1:8080", "ftp://host", "http://", "http://h/?q=1", "http://h/#f"]
)
def test_invalid_base_url_is_rejected(url):
    with pytest.raises(roster.InvalidArgumentError):
        roster.Client(url, api_key="k")


def test_base_url_path_prefix_is_kept(server, make_client):
    server.play(Reply(200, page([])))

    make_client(server.url + "/roster").users.list_users()

    assert server.requests[0].path == "/roster/api/v2/users"


def test_requests_carry_auth_accept_and_user_agent(server, make_client):
    server.play(Reply(200, page([])))

    make_client(server.url).users.list_users()

    headers = server.requests[0].headers
    assert headers["authorization"] == f"UserKey {API_KEY}"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"].startswith("roster-python/")


def test_connections_are_reused(server, make_client):
    server.play(*[Reply(200, page([]))] * 3)
    client = make_client(server.url)

    for _ in range(3):
        client.users.list_users()

    assert server.count == 3
    assert len(server._connections) == 1


def test_context_manager_closes_client(server):
    with roster.Client(server.url, api_key="k") as client:
        assert not client.is_closed

    assert client.is_closed
    with pytest.raises(RuntimeError):
        client.users.list_users()


def test_repr_shows_url_only():
    with roster.Client("http://127.0.0.1:9", api_key="secret-key-1") as client:
        assert repr(client) == "<roster.Client base_url='http://127.0.0.1:9'>"


def test_number_timeout_sets_operation_timeouts():
    timeouts = roster.Timeouts.coerce(2.5)

    assert timeouts == roster.Timeouts(
        connect=2.5, read=2.5, write=2.5, pool=2.5, total=60.0
    )
    assert roster.Timeouts.coerce(120).total == 120.0


@pytest.mark.parametrize(
    "options", [{"connect": 0}, {"read": -1}, {"total": float("inf")}, {"pool": True}]
)
def test_invalid_timeouts_are_rejected(options):
    with pytest.raises(roster.InvalidArgumentError):
        roster.Timeouts(**options)


def test_attempt_timeouts_are_cut_to_time_left():
    timeouts = roster.Timeouts(connect=5, read=30, write=30, pool=5, total=60)

    cut = timeouts.for_attempt(3.0)

    assert cut == httpx.Timeout(connect=3.0, read=3.0, write=3.0, pool=3.0)
    assert timeouts.for_attempt(-1).read == 0.001


@pytest.mark.parametrize(
    "options",
    [
        {"max_attempts": 0},
        {"max_attempts": 2.5},
        {"base_delay": -0.1},
        {"max_delay": float("nan")},
        {"jitter": "random"},
        {"retry_statuses": frozenset({200})},
    ],
)
def test_invalid_retry_policy_is_rejected(options):
    with pytest.raises(roster.InvalidArgumentError):
        roster.RetryPolicy(**options)


def test_default_settings_are_documented_values():
    with roster.Client("http://127.0.0.1:9", api_key="k") as client:
        assert client.retry == roster.RetryPolicy(
            max_attempts=4, base_delay=0.2, max_delay=5.0, jitter="full"
        )
        assert client.retry.retry_statuses == {429, 502, 503, 504}
        assert client.timeouts == roster.Timeouts(
            connect=5.0, read=30.0, write=30.0, pool=5.0, total=60.0
        )
        assert client.circuit_breaker is not None
        assert client.circuit_breaker.policy == roster.CircuitBreakerPolicy(
            failure_threshold=5, recovery_timeout=30.0
        )
        assert client.circuit_breaker.state == "closed"


def test_httpx_transport_does_not_retry():
    with roster.Client("http://127.0.0.1:9", api_key="k") as client:
        pool = client._http._transport._pool

    assert pool._retries == 0


def test_all_is_sorted_and_complete():
    public = {
        name
        for name, value in vars(roster).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }

    assert roster.__all__ == sorted(roster.__all__)
    assert set(roster.__all__) == public


def test_import_loads_no_server_module():
    # httpx imports click, rich and pygments for its own command line when they are
    # installed, so the check compares with what a bare "import httpx" loads.
    script = textwrap.dedent(
        """
        import sys
        import httpx
        before = set(sys.modules)
        import roster
        roster.Client("http://127.0.0.1:9", api_key="k").close()
        roster.AsyncClient("http://127.0.0.1:9", api_key="k")
        print("\\n".join(sorted(set(sys.modules) - before)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )

    loaded = result.stdout.split()
    forbidden = (
        "fastapi",
        "starlette",
        "sqlalchemy",
        "alembic",
        "psycopg",
        "uvicorn",
        "click",
        "rich",
        "roster.server",
        "roster.store",
        "roster.cli",
        "roster.importers",
    )
    assert "roster.sdk._client" in loaded
    assert [m for m in loaded if m.startswith(forbidden)] == []
