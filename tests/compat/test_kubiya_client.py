"""The published ``kubiya-sdk`` 2.1.6 client, pointed at Roster, reads the same
users and groups as Roster's own SDK."""

from __future__ import annotations

from typing import Any

import pytest

import roster

pytestmark = pytest.mark.compat

kubiya = pytest.importorskip(
    "kubiya", reason="kubiya-sdk is not installed; pip install -e '.[compat]'"
)


@pytest.fixture
def published_client(k8s_org: Any) -> Any:
    return kubiya.KubiyaClient(api_key=k8s_org.api_key, base_url=k8s_org.url)


@pytest.fixture
def roster_client(k8s_org: Any) -> Any:
    with roster.Client(base_url=k8s_org.url, api_key=k8s_org.api_key) as client:
        yield client


def walk(list_users: Any, limit: int) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    page = 1
    while True:
        batch = list_users(limit=limit, page=page)
        if not batch:
            return users
        users.extend(batch)
        page += 1


def test_published_client_lists_every_user(
    published_client: Any, roster_client: Any
) -> None:
    published = walk(published_client.users.list_users, 100)
    own = walk(roster_client.users.list_users, 100)

    assert len(published) == 1276
    assert [u["id"] for u in published] == [u["id"] for u in own]
    assert published == own


def test_published_client_reads_wire_fields(published_client: Any) -> None:
    users = published_client.users.list_users(limit=1000, page=1)

    assert len(users) == 1000
    for user in users:
        assert user["uuid"] == user["_id"] == user["id"]
        assert user["email"]
        assert user["name"]
        assert user["user_status"] == "active"
        assert isinstance(user["groups"], list)
        assert "image" in user
    assert sum(len(u["groups"]) for u in users) > 1000


def test_published_client_limit_none_means_default(published_client: Any) -> None:
    users = published_client.users.list_users(limit=None, page=2)

    assert len(users) == 100


def test_published_client_lists_the_same_groups(
    published_client: Any, roster_client: Any
) -> None:
    published = published_client.users.list_groups()
    own = roster_client.users.list_groups()

    assert len(published) == 286
    assert published == own
    for group in published:
        assert set(group) >= {"uuid", "name", "description", "system", "created_at"}


def test_published_client_reports_a_bad_key(k8s_org: Any) -> None:
    client = kubiya.KubiyaClient(api_key="rst_wrong", base_url=k8s_org.url)

    with pytest.raises(Exception, match=r"(?i)unauthori|invalid api"):
        client.users.list_users()
