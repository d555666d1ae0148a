"""Requests of the asyncio client's users service, and the client's construction."""

from __future__ import annotations

import uuid

import pytest

import roster

from .conftest import API_KEY
from .scripted_server import Reply, error, page

USER = {"id": "u1", "uuid": "u1", "email": "anna@example.org", "name": "Anna"}
GROUP = {"id": "g1", "uuid": "g1", "name": "api-approvers", "system": False}


@pytest.mark.asyncio
async def test_get_user_returns_resource_with_etag(server, make_async_client):
    server.play(Reply(200, USER, {"ETag": '"v7"'}))

    user = await make_async_client(server.url).users.get_user(email="anna@example.org")

    assert user == USER
    assert user.etag == '"v7"'
    assert server.requests[0].path == "/api/v2/users/anna%40example.org"
    assert server.requests[0].headers["authorization"] == f"UserKey {API_KEY}"


@pytest.mark.asyncio
async def test_create_user_retried_with_same_key(server, make_async_client):
    server.play(Reply(503), Reply(201, USER))

    await make_async_client(server.url).users.create_user("anna@example.org", "Anna")

    keys = [r.headers["idempotency-key"] for r in server.requests]
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert uuid.UUID(keys[0])


@pytest.mark.asyncio
async def test_update_user_sends_only_given_fields(server, make_async_client):
    server.play(Reply(200, USER))

    await make_async_client(server.url).users.update_user(
        "u1", image=None, if_match='"v7"'
    )

    assert server.requests[0].method == "PATCH"
    assert server.requests[0].json() == {"image": None}
    assert server.requests[0].headers["if-match"] == '"v7"'


@pytest.mark.asyncio
async def test_status_changes_and_delete(server, make_async_client):
    server.play(Reply(200, USER), Reply(200, USER), Reply(204))
    users = make_async_client(server.url).users

    await users.deactivate_user("u1")
    await users.reactivate_user("u1")
    assert await users.delete_user("u1") is None

    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", "/api/v2/users/u1/deactivate"),
        ("POST", "/api/v2/users/u1/reactivate"),
        ("DELETE", "/api/v2/users/u1"),
    ]


@pytest.mark.asyncio
async def test_group_calls_send_expected_requests(server, make_async_client):
    server.play(
        Reply(201, GROUP),
        Reply(200, GROUP),
        Reply(200, {"role": "member"}),
        Reply(200, page([USER])),
        Reply(204),
        Reply(204),
    )
    users = make_async_client(server.url).users

    await users.create_group("api-approvers", description="APIs")
    await users.update_group("g1", parent_id=None)
    await users.add_member("g1", "u1")
    await users.list_members("g1")
    await users.remove_member("g1", "u1")
    await users.delete_group("g1")

    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", "/api/v2/groups"),
        ("PATCH", "/api/v2/groups/g1"),
        ("PUT", "/api/v2/groups/g1/members/u1"),
        ("GET", "/api/v2/groups/g1/members"),
        ("DELETE", "/api/v2/groups/g1/members/u1"),
        ("DELETE", "/api/v2/groups/g1"),
    ]
    assert server.requests[1].json() == {"parent_id": None}
    assert server.requests[2].json() == {}


@pytest.mark.asyncio
async def test_group_not_found_is_group_error(server, make_async_client):
    server.play(Reply(404, error("group_not_found", "no group g9")))

    with pytest.raises(roster.GroupNotFoundError) as caught:
        await make_async_client(server.url).users.get_group(name="g9")

    assert not isinstance(caught.value, roster.UserError)
    assert server.count == 1


@pytest.mark.asyncio
async def test_list_user_groups_and_audit(server, make_async_client):
    server.play(Reply(200, page([GROUP])), Reply(200, page([{"action": "x"}])))
    client = make_async_client(server.url)

    groups = await client.users.list_user_groups("u1")
    audit = await client.changes.list_audit()

    assert groups == [GROUP]
    assert audit == [{"action": "x"}]
    assert server.requests[1].path == "/api/v2/audit"


@pytest.mark.asyncio
async def test_async_context_manager_closes_client(server):
    async with roster.AsyncClient(server.url, api_key="k") as client:
        assert not client.is_closed
        assert repr(client) == f"<roster.AsyncClient base_url={server.url!r}>"

    assert client.is_closed


def test_async_client_missing_key_names_environment_variable(monkeypatch):
    monkeypatch.delenv("ROSTER_API_KEY", raising=False)

    with pytest.raises(roster.InvalidArgumentError, match="ROSTER_API_KEY"):
        roster.AsyncClient("http://127.0.0.1:8080")
