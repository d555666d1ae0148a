"""Paging of the asyncio client: cursor chaining, iteration and response shapes."""

from __future__ import annotations

import pytest

import roster

from .scripted_server import Reply, error, page


def users(*ids: str) -> list[dict[str, str]]:
    return [{"id": i, "email": f"{i}@example.org"} for i in ids]


@pytest.mark.asyncio
async def test_next_page_carries_cursor_of_previous_page(server, make_async_client):
    server.play(
        Reply(200, page(users("a", "b"), has_more=True, next_cursor="c1")),
        Reply(200, page(users("c"), has_more=False)),
    )
    client = make_async_client(server.url)

    first = await client.users.list_users(limit=2, page=1)
    second = await client.users.list_users(limit=2, page=2)

    assert [u["id"] for u in first + second] == ["a", "b", "c"]
    assert server.requests[0].param("cursor") is None
    assert server.requests[1].param("cursor") == "c1"


@pytest.mark.asyncio
async def test_cursor_is_not_sent_for_other_query(server, make_async_client):
    server.play(
        Reply(200, page(users("a", "b"), has_more=True, next_cursor="c1")),
        Reply(200, page(users("c"))),
    )
    client = make_async_client(server.url)

    await client.users.list_users(limit=2, page=1)
    await client.users.list_users(limit=2, page=2, email_domain="example.org")

    assert server.requests[1].param("cursor") is None


@pytest.mark.asyncio
async def test_rejected_cursor_is_dropped_once(server, make_async_client):
    server.play(
        Reply(200, page(users("a"), has_more=True, next_cursor="stale")),
        Reply(400, error("invalid_parameter", "cursor is malformed")),
        Reply(200, page(users("b"))),
    )
    client = make_async_client(server.url)

    await client.users.list_users(limit=1, page=1)
    result = await client.users.list_users(limit=1, page=2)

    assert [u["id"] for u in result] == ["b"]
    assert server.requests[2].param("cursor") is None


@pytest.mark.asyncio
async def test_iter_users_stops_at_last_page(server, make_async_client):
    server.play(
        Reply(200, page(users("a", "b"), has_more=True, next_cursor="c1")),
        Reply(200, page(users("c", "d"), has_more=False, next_cursor="c2")),
    )
    client = make_async_client(server.url)

    ids = [u["id"] async for u in client.users.iter_users(page_size=2)]

    assert ids == ["a", "b", "c", "d"]
    assert server.count == 2
    assert server.requests[1].param("cursor") == "c1"


@pytest.mark.asyncio
async def test_iter_users_stops_at_short_page(server, make_async_client):
    server.play(Reply(200, {"items": users("a", "b")}), Reply(200, {"items": []}))
    client = make_async_client(server.url)

    ids = [u["id"] async for u in client.users.iter_users(page_size=2)]

    assert ids == ["a", "b"]
    assert server.count == 2


@pytest.mark.asyncio
async def test_iter_users_validates_before_iterating(server, make_async_client):
    client = make_async_client(server.url)

    with pytest.raises(roster.UserArgumentError):
        client.users.iter_users(page_size=0)

    assert server.count == 0


@pytest.mark.asyncio
async def test_iter_groups_and_members(server, make_async_client):
    server.play(
        Reply(200, page([{"id": "g1", "name": "admins"}])),
        Reply(200, page(users("a"))),
    )
    client = make_async_client(server.url)

    groups = [g async for g in client.users.iter_groups()]
    members = [m async for m in client.users.iter_members("g1", transitive=True)]

    assert groups == [{"id": "g1", "name": "admins"}]
    assert members == users("a")
    assert server.requests[0].path == "/api/v2/groups"
    assert server.requests[1].param("transitive") == "true"


@pytest.mark.asyncio
async def test_malformed_body_raises_user_error(server, make_async_client):
    server.play(Reply(200, b"not json"))

    with pytest.raises(roster.UserError) as caught:
        await make_async_client(server.url).users.list_users()

    assert "the body is not JSON" in str(caught.value)


@pytest.mark.asyncio
async def test_follow_changes_polls_after_catching_up(
    server, make_async_client, fake_time
):
    server.play(
        Reply(200, {"items": [{"seq": 1}], "next_cursor": "1", "has_more": True}),
        Reply(200, {"items": [{"seq": 2}], "next_cursor": "2", "has_more": False}),
        Reply(200, {"items": [{"seq": 3}], "next_cursor": "3", "has_more": False}),
    )
    feed = make_async_client(server.url).changes.follow_changes(
        after=0, poll_interval=1.5
    )

    seqs = []
    async for change in feed:
        seqs.append(change["seq"])
        if len(seqs) == 3:
            break
    await feed.aclose()

    assert seqs == [1, 2, 3]
    assert [r.param("after") for r in server.requests] == ["0", "1", "2"]
    assert fake_time.sleeps == [1.5]


@pytest.mark.asyncio
async def test_list_groups_text_output(server, make_async_client):
    server.play(Reply(200, [{"name": "admins", "uuid": "g1", "system": True}]))

    table = await make_async_client(server.url).users.list_groups("text")

    assert table == "NAME\tUUID\tDESCRIPTION\tTYPE\nadmins\tg1\t\tSystem"
