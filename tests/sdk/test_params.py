"""Argument validation: invalid arguments raise before any request is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

import roster

from .scripted_server import Reply, page


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"limit": 0}, "limit must be an integer from 1 to 1000"),
        ({"limit": 1001}, "limit must be an integer from 1 to 1000"),
        ({"limit": -5}, "got -5"),
        ({"limit": True}, "got True"),
        ({"limit": "10"}, "got '10'"),
        ({"limit": 2.0}, "got 2.0"),
        ({"page": 0}, "page must be an integer of 1 or more, got 0"),
        ({"page": -1}, "page must be an integer of 1 or more, got -1"),
        ({"page": False}, "got False"),
        ({"page": "2"}, "got '2'"),
        ({"output_format": "xml"}, "output_format must be 'json' or 'text'"),
        ({"sort": "age"}, "sort must be one of 'email', 'name'"),
        ({"sort": "--email"}, "sort must be one of"),
        ({"status": "gone"}, "status must be one of 'active', 'invited'"),
        ({"email": ""}, "email must be a non-empty str"),
        ({"group": 7}, "group must be a non-empty str"),
        (
            {"created_since": datetime(2026, 1, 1)},
            "created_since must have a time zone",
        ),
        ({"created_since": "2026-01-01T00:00:00"}, "must have a time zone"),
        ({"updated_since": "yesterday"}, "updated_since must be an RFC 3339 timestamp"),
        ({"updated_since": 1700000000}, "must be a datetime or an RFC 3339 str"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_invalid_list_users_argument_sends_nothing(
    server, make_client, arguments, fragment
):
    client = make_client(server.url)

    with pytest.raises(roster.UserArgumentError) as caught:
        client.users.list_users(**arguments)

    assert server.count == 0
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("Failed to list users: ")
    assert caught.value.attempts == 0


def test_argument_error_is_user_error_and_value_error(server, make_client):
    with pytest.raises(roster.UserArgumentError) as caught:
        make_client(server.url).users.list_users(limit=0)

    assert isinstance(caught.value, roster.UserError)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, roster.InvalidArgumentError)
    assert not isinstance(caught.value, roster.GroupError)


@pytest.mark.parametrize(
    "call",
    [
        lambda users: users.list_groups(output_format="csv"),
        lambda users: users.list_groups(system="yes"),
        lambda users: users.list_groups(sort="email"),
        lambda users: users.iter_groups(page_size=0),
        lambda users: users.get_group(),
        lambda users: users.get_group("g1", name="admins"),
        lambda users: users.create_group(""),
        lambda users: users.update_group("g1"),
        lambda users: users.add_member("g1", "u1", role="owner"),
        lambda users: users.list_members("g1", limit=5000),
        lambda users: users.list_members("g1", transitive="yes"),
        lambda users: users.remove_member("", "u1"),
    ],
    ids=[
        "list_groups-format",
        "list_groups-system",
        "list_groups-sort",
        "iter_groups-page_size",
        "get_group-none",
        "get_group-both",
        "create_group-empty-name",
        "update_group-nothing",
        "add_member-role",
        "list_members-limit",
        "list_members-transitive",
        "remove_member-empty-id",
    ],
)
def test_invalid_group_argument_raises_group_error(server, make_client, call):
    with pytest.raises(roster.GroupArgumentError) as caught:
        call(make_client(server.url).users)

    assert server.count == 0
    assert not isinstance(caught.value, roster.UserError)


@pytest.mark.parametrize(
    "call",
    [
        lambda users: users.get_user(),
        lambda users: users.get_user("u1", email="a@x.org"),
        lambda users: users.iter_users(page_size=1001),
        lambda users: users.create_user("a@x.org", "A", status="banned"),
        lambda users: users.create_user("a@x.org", "A", idempotency_key="bad\nkey"),
        lambda users: users.update_user("u1"),
        lambda users: users.update_user("u1", name=""),
        lambda users: users.update_user("u1", name="B", if_match="é"),
        lambda users: users.delete_user(None),
        lambda users: users.list_user_groups("u1", page=0),
    ],
    ids=[
        "get_user-none",
        "get_user-both",
        "iter_users-page_size",
        "create_user-status",
        "create_user-key",
        "update_user-nothing",
        "update_user-empty-name",
        "update_user-if_match",
        "delete_user-none",
        "list_user_groups-page",
    ],
)
def test_invalid_user_argument_raises_user_error(server, make_client, call):
    with pytest.raises(roster.UserArgumentError) as caught:
        call(make_client(server.url).users)

    assert server.count == 0
    assert not isinstance(caught.value, roster.GroupError)


@pytest.mark.parametrize(
    "call",
    [
        lambda changes: changes.list_changes(limit=0),
        lambda changes: changes.list_changes(after=-1),
        lambda changes: changes.follow_changes(poll_interval=0),
        lambda changes: changes.list_audit(page=0),
    ],
    ids=["changes-limit", "changes-after", "follow-interval", "audit-page"],
)
def test_invalid_feed_argument_raises_invalid_argument(server, make_client, call):
    with pytest.raises(roster.InvalidArgumentError) as caught:
        call(make_client(server.url).changes)

    assert server.count == 0
    assert not isinstance(caught.value, roster.UserError | roster.GroupError)


def test_limit_none_sends_default(server, make_client):
    server.play(Reply(200, page([])))

    make_client(server.url).users.list_users(limit=None)

    assert server.requests[0].param("limit") == "100"
    assert server.requests[0].param("page") == "1"


def test_filters_are_sent_as_query_parameters(server, make_client):
    server.play(Reply(200, page([])))
    since = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))

    make_client(server.url).users.list_users(
        limit=10,
        page=3,
        status="invited",
        email="A@X.org",
        email_domain="x.org",
        name_contains="ann",
        group="admins",
        created_since=since,
        updated_since="2026-03-01T10:00:00+00:00",
        sort="-created_at",
    )

    request = server.requests[0]
    assert request.path == "/api/v2/users"
    assert {name: values[0] for name, values in request.query.items()} == {
        "limit": "10",
        "page": "3",
        "status": "invited",
        "email": "A@X.org",
        "email_domain": "x.org",
        "name_contains": "ann",
        "group": "admins",
        "created_since": "2026-03-01T10:00:00.000000Z",
        "updated_since": "2026-03-01T10:00:00.000000Z",
        "sort": "-created_at",
    }


def test_rfc3339_z_suffix_is_accepted(server, make_client):
    server.play(Reply(200, page([])))

    make_client(server.url).users.list_users(created_since="2026-03-01T10:00:00Z")

    assert server.requests[0].param("created_since") == "2026-03-01T10:00:00.000000Z"


def test_group_filters_are_sent(server, make_client):
    server.play(Reply(200, []))

    make_client(server.url).users.list_groups(
        name_contains="api", system=False, parent="sig-arch", sort="-name"
    )

    request = server.requests[0]
    assert request.path == "/api/v1/manage/groups"
    assert request.param("system") == "false"
    assert request.param("parent") == "sig-arch"
    assert request.param("sort") == "-name"
    assert request.param("name_contains") == "api"


def test_aware_datetime_is_converted_to_utc(server, make_client):
    server.play(Reply(200, page([])))

    make_client(server.url).users.list_users(
        updated_since=datetime(2026, 1, 1, 23, 30, tzinfo=UTC)
    )

    assert server.requests[0].param("updated_since") == "2026-01-01T23:30:00.000000Z"
