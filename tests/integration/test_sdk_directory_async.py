"""Roster's async client against a live server on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import roster
from roster.exceptions import GroupNotFoundError, UserError, UserNotFoundError


@pytest.mark.asyncio
async def test_async_reference_loop_lists_everyone(k8s_org: Any) -> None:
    seen: list[str] = []
    page = 1
    async with roster.AsyncClient(
        base_url=k8s_org.url, api_key=k8s_org.api_key
    ) as client:
        while batch := await client.users.list_users(limit=100, page=page):
            seen.extend(u["id"] for u in batch)
            page += 1

    assert len(seen) == 1276
    assert len(set(seen)) == 1276


@pytest.mark.asyncio
async def test_async_iter_groups_walks_every_group(k8s_org: Any) -> None:
    async with roster.AsyncClient(
        base_url=k8s_org.url, api_key=k8s_org.api_key
    ) as client:
        groups = [g async for g in client.users.iter_groups(page_size=50)]
        listed = await client.users.list_groups()

    assert len(groups) == 286
    assert {g["id"] for g in groups} == {g["id"] for g in listed}


@pytest.mark.asyncio
async def test_async_concurrent_creates_all_land(org: Any) -> None:
    async with roster.AsyncClient(base_url=org.url, api_key=org.api_key) as client:
        created = await asyncio.gather(
            *(
                client.users.create_user(f"task{i}@example.org", f"Task {i}")
                for i in range(25)
            )
        )
        users = [u async for u in client.users.iter_users(page_size=10)]

    assert len({u["id"] for u in created}) == 25
    assert sorted(u["email"] for u in users) == sorted(u["email"] for u in created)


@pytest.mark.asyncio
async def test_async_not_found_errors(org: Any) -> None:
    async with roster.AsyncClient(base_url=org.url, api_key=org.api_key) as client:
        with pytest.raises(UserNotFoundError):
            await client.users.get_user(email="ghost@example.org")
        with pytest.raises(GroupNotFoundError):
            await client.users.get_group(name="ghosts")


@pytest.mark.asyncio
async def test_async_follow_changes_in_order(org: Any) -> None:
    async with roster.AsyncClient(base_url=org.url, api_key=org.api_key) as client:
        group = await client.users.create_group("feed")
        user = await client.users.create_user("feed@example.org", "Feed")
        await client.users.add_member(group["id"], user["id"])

        feed = client.changes.follow_changes(poll_interval=0.05)
        changes = [await anext(feed) for _ in range(3)]

    assert [c["type"] for c in changes] == [
        "group.created",
        "user.created",
        "membership.added",
    ]


@pytest.mark.asyncio
async def test_async_wrong_key_raises_user_error(org: Any) -> None:
    async with roster.AsyncClient(base_url=org.url, api_key="rst_wrong") as client:
        with pytest.raises(UserError) as caught:
            await client.users.list_users()

    assert caught.value.code == "unauthenticated"
