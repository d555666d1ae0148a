"""Paging of the blocking client: cursor chaining, iteration and response shapes."""

from __future__ import annotations

import itertools

import pytest

import roster
from roster.sdk._pages import CursorCache, query_key

from .scripted_server import Reply, error, page


def users(*ids: str) -> list[dict[str, str]]:
    return [{"id": i, "email": f"{i}@example.org"} for i in ids]


def test_next_page_carries_cursor_of_previous_page(server, make_client):
    server.play(
        Reply(200, page(users("a", "b"), has_more=True, next_cursor="c1")),
        Reply(200, page(users("c", "d"), has_more=True, next_cursor="c2")),
        Reply(200, page(users("e"), has_more=False)),
    )
    client = make_client(server.url)

    first = client.users.list_users(limit=2, page=1)
    second = client.users.list_users(limit=2, page=2)
    third = client.users.list_users(limit=2, page=3)

    assert [u["id"] for u in first + second + third] == ["a", "b", "c", "d", "e"]
    assert server.requests[0].param("cursor") is None
    assert server.requests[1].param("cursor") == "c1"
    assert server.requests[1].param("page") == "2"
    assert server.requests[2].param("cursor") == "c2"
    assert server.requests[2].param("page") == "3"


@pytest.mark.parametrize(
    "second_call",
    [
        {"limit": 3, "page": 2},
        {"limit": 2, "page": 3},
        {"limit": 2, "page": 1},
        {"limit": 2, "page": 2, "status": "active"},
        {"limit": 2, "page": 2, "sort": "-email"},
    ],
    ids=["other-limit", "skipped-page", "same-page", "other-filter", "other-sort"],
)
def test_cursor_only_for_next_page(server, make_client, second_call):
    server.play(
        Reply(200, page(users("a", "b"), has_more=True, next_cursor="c1")),
        Reply(200, page(users("c"))),
    )
    client = make_client(server.url)

    client.users.list_users(limit=2, page=1)
    client.users.list_users(**second_call)

    assert server.requests[1].param("cursor") is None


def test_text_output_chains_cursor_too(server, make_client):
    server.play(
        Reply(200, page(users("a"), has_more=True, next_cursor="c1")),
        Reply(200, page(users("b"))),
    )
    client = make_client(server.url)

    client.users.list_users(1, 1, "text")
    table = client.users.list_users(1, 2, "text")

    assert server.requests[1].param("cursor") == "c1"
    assert "b@example.org" in table


def test_rejected_cursor_is_dropped_once(server, make_client, caplog):
    rejection = error("invalid_parameter", "cursor does not match this request")
    server.play(
        Reply(200, page(users("a"), has_more=True, next_cursor="stale")),
        Reply(400, rejection),
        Reply(200, page(users("b"))),
    )
    client = make_client(server.url)

    client.users.list_users(limit=1, page=1)
    result = client.users.list_users(limit=1, page=2)

    assert [u["id"] for u in result] == ["b"]
    assert server.count == 3
    assert server.requests[1].param("cursor") == "stale"
    assert server.requests[2].param("cursor") is None
    assert server.requests[2].param("page") == "2"
    assert any("rejected the cursor" in r.getMessage() for r in caplog.records)


def test_other_400_keeps_error(server, make_client):
    server.play(
        Reply(200, page(users("a"), has_more=True, next_cursor="c1")),
        Reply(400, error("invalid_parameter", "limit is out of range")),
    )
    client = make_client(server.url)
    client.users.list_users(limit=1, page=1)

    with pytest.raises(roster.UserError) as caught:
        client.users.list_users(limit=1, page=2)

    assert caught.value.status_code == 400
    assert server.count == 2


def test_cursor_cache_keeps_latest_queries_only():
    cache = CursorCache(capacity=32)

    for number in range(40):
        key = query_key("/api/v2/users", {"limit": str(number + 1)})
        cache.remember(key, 1, f"c{number}")

    assert len(cache) == 32
    assert cache.cursor_for(query_key("/api/v2/users", {"limit": "1"}), 2) is None
    assert cache.cursor_for(query_key("/api/v2/users", {"limit": "40"}), 2) == "c39"


def test_cursor_cache_forgets_query_at_last_page():
    cache = CursorCache()
    key = query_key("/api/v2/users", {"limit": "2"})

    cache.remember(key, 1, "c1")
    cache.remember(key, 2, None)

    assert len(cache) == 0


def test_client_keeps_bounded_cursor_cache(server, make_client):
    client = make_client(server.url)
    for number in range(40):
        server.play(
            Reply(200, page(users("a"), has_more=True, next_cursor=f"c{number}"))
        )
        client.users.list_users(limit=number + 1)

    assert len(client.users._requests.cursors) == 32


def test_iter_users_stops_at_last_page(server, make_client):
    server.play(
        Reply(200, page(users("a", "b"), has_more=True, next_cursor="c1")),
        Reply(200, page(users("c", "d"), has_more=False, next_cursor="c2")),
    )

    ids = [u["id"] for u in make_client(server.url).users.iter_users(page_size=2)]

    assert ids == ["a", "b", "c", "d"]
    assert server.count == 2
    assert server.requests[1].param("cursor") == "c1"
    assert server.requests[1].param("page") == "2"
    assert server.requests[1].param("limit") == "2"


def test_iter_users_stops_at_short_page(server, make_client):
    server.play(
        Reply(200, {"items": users("a", "b")}),
        Reply(200, {"items": users("c")}),
    )

    ids = [u["id"] for u in make_client(server.url).users.iter_users(page_size=2)]

    assert ids == ["a", "b", "c"]
    assert server.count == 2


def test_iter_users_stops_at_empty_page(server, make_client):
    server.play(Reply(200, page([], has_more=True, next_cursor="c1")))

    assert list(make_client(server.url).users.iter_users()) == []
    assert server.count == 1


def test_iter_users_sends_filters_on_every_page(server, make_client):
    server.play(
        Reply(200, page(users("a"), has_more=True, next_cursor="c1")),
        Reply(200, page(users("b"))),
    )

    list(make_client(server.url).users.iter_users(page_size=1, status="active"))

    assert [r.param("status") for r in server.requests] == ["active", "active"]


def test_iter_users_is_lazy(server, make_client):
    server.play(Reply(200, page(users("a"), has_more=True, next_cursor="c1")))

    iterator = make_client(server.url).users.iter_users(page_size=1)
    assert server.count == 0
    assert next(iterator)["id"] == "a"
    assert server.count == 1


def test_iter_groups_pages_v2_groups(server, make_client):
    groups = [{"id": "g1", "name": "admins"}, {"id": "g2", "name": "everyone"}]
    server.play(
        Reply(200, page(groups[:1], has_more=True, next_cursor="g")),
        Reply(200, page(groups[1:])),
    )

    names = [g["name"] for g in make_client(server.url).users.iter_groups(page_size=1)]

    assert names == ["admins", "everyone"]
    assert [r.path for r in server.requests] == ["/api/v2/groups"] * 2


def test_iter_members_sends_transitive(server, make_client):
    server.play(Reply(200, page(users("a"))))

    members = list(make_client(server.url).users.iter_members("g1", transitive=True))

    assert members == users("a")
    assert server.requests[0].path == "/api/v2/groups/g1/members"
    assert server.requests[0].param("transitive") == "true"


def test_list_groups_accepts_array_and_groups_object(server, make_client):
    groups = [{"uuid": "g1", "name": "admins", "system": True}]
    server.play(Reply(200, groups), Reply(200, {"groups": groups}))
    client = make_client(server.url)

    assert client.users.list_groups() == groups
    assert client.users.list_groups() == groups


def test_list_users_accepts_bare_array(server, make_client):
    server.play(Reply(200, users("a")))

    assert make_client(server.url).users.list_users() == users("a")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"<html>oops</html>", "the body is not JSON (<html>oops</html>)"),
        (b"", "the body is not JSON (an empty body)"),
        ({"users": []}, "expected an object with an 'items' array, got an object"),
        ({"items": "none"}, "expected an object with an 'items' array"),
        ({"items": [1, 2]}, "expected objects in the array, got a number"),
        ("null", "got null"),
    ],
    ids=["html", "empty", "no-items", "items-string", "items-numbers", "null"],
)
def test_malformed_users_body_raises_user_error(server, make_client, body, fragment):
    server.play(Reply(200, body))

    with pytest.raises(roster.UserError) as caught:
        make_client(server.url).users.list_users()

    assert fragment in str(caught.value)
    assert caught.value.status_code == 200
    assert server.count == 1


def test_malformed_groups_body_raises_group_error(server, make_client):
    server.play(Reply(200, {"items": "x"}))

    with pytest.raises(roster.GroupError) as caught:
        make_client(server.url).users.list_groups()

    assert "expected an array of groups, got an object" in str(caught.value)


def test_list_changes_returns_page(server, make_client):
    body = {"items": [{"seq": 1}], "next_cursor": "1", "has_more": False}
    server.play(Reply(200, body))

    result = make_client(server.url).changes.list_changes(after="0", limit=50)

    assert result == body
    assert server.requests[0].path == "/api/v2/changes"
    assert server.requests[0].param("after") == "0"
    assert server.requests[0].param("limit") == "50"


def test_follow_changes_polls_after_catching_up(server, make_client, fake_time):
    server.play(
        Reply(
            200,
            {"items": [{"seq": 1}, {"seq": 2}], "next_cursor": "2", "has_more": True},
        ),
        Reply(200, {"items": [{"seq": 3}], "next_cursor": "3", "has_more": False}),
        Reply(200, {"items": [], "next_cursor": "3", "has_more": False}),
        Reply(200, {"items": [{"seq": 4}], "next_cursor": "4", "has_more": False}),
    )
    feed = make_client(server.url).changes.follow_changes(poll_interval=2.5)

    seqs = [change["seq"] for change in itertools.islice(feed, 4)]

    assert seqs == [1, 2, 3, 4]
    assert [r.param("after") for r in server.requests] == [None, "2", "3", "3"]
    assert fake_time.sleeps == [2.5, 2.5]


def test_list_audit_returns_items(server, make_client):
    server.play(Reply(200, page([{"action": "user.created"}])))

    entries = make_client(server.url).changes.list_audit(limit=10, page=2)

    assert entries == [{"action": "user.created"}]
    assert server.requests[0].path == "/api/v2/audit"
    assert server.requests[0].param("page") == "2"
