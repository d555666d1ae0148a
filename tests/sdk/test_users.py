"""Requests that the users service of the blocking client sends, and what it returns."""

from __future__ import annotations

import uuid

import pytest

import roster

from .scripted_server import Reply, error, page

USER = {"id": "u1", "uuid": "u1", "email": "anna@example.org", "name": "Anna"}
GROUP = {"id": "g1", "uuid": "g1", "name": "api-approvers", "system": False}


def test_get_user_by_id_returns_resource_with_etag(server, make_client):
    server.play(Reply(200, USER, {"ETag": '"v7"'}))

    user = make_client(server.url).users.get_user("u1")

    assert user == USER
    assert isinstance(user, dict)
    assert user.etag == '"v7"'
    assert server.requests[0].method == "GET"
    assert server.requests[0].path == "/api/v2/users/u1"


def test_get_user_by_email_encodes_path_segment(server, make_client):
    server.play(Reply(200, USER))

    make_client(server.url).users.get_user(email="anna+ops%x@example.org")

    assert server.requests[0].path == "/api/v2/users/anna%2Bops%25x%40example.org"


def test_get_user_accepts_uuid(server, make_client):
    user_id = uuid.UUID("0b6d2c58-4d3c-4d8e-9a51-1f2a3b4c5d6e")
    server.play(Reply(200, USER))

    make_client(server.url).users.get_user(user_id)

    assert server.requests[0].path == f"/api/v2/users/{user_id}"


def test_create_user_sends_body_and_generated_key(server, make_client):
    server.play(Reply(201, USER), Reply(201, USER))
    client = make_client(server.url)

    client.users.create_user("anna@example.org", "Anna", status="invited")
    client.users.create_user("anna@example.org", "Anna")

    first, second = server.requests
    assert first.method == "POST"
    assert first.path == "/api/v2/users"
    assert first.json() == {
        "email": "anna@example.org",
        "name": "Anna",
        "status": "invited",
    }
    assert second.json() == {"email": "anna@example.org", "name": "Anna"}
    assert uuid.UUID(first.headers["idempotency-key"])
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]


def test_create_user_sends_given_key(server, make_client):
    server.play(Reply(201, USER))

    make_client(server.url).users.create_user(
        "anna@example.org",
        "Anna",
        image="https://img/a.png",
        idempotency_key="import-17",
    )

    assert server.requests[0].headers["idempotency-key"] == "import-17"
    assert server.requests[0].json()["image"] == "https://img/a.png"


def test_create_user_conflict_raises_user_error(server, make_client):
    server.play(Reply(409, error("email_taken", "anna@example.org is taken")))

    with pytest.raises(roster.UserError) as caught:
        make_client(server.url).users.create_user("anna@example.org", "Anna")

    assert caught.value.code == "email_taken"
    assert caught.value.status_code == 409


def test_update_user_sends_only_given_fields(server, make_client):
    server.play(Reply(200, USER), Reply(200, USER), Reply(200, USER))
    users = make_client(server.url).users

    users.update_user("u1", name="Anna B")
    users.update_user("u1", image=None)
    users.update_user("u1", email="b@example.org", status="active", image="x")

    assert [r.method for r in server.requests] == ["PATCH"] * 3
    assert server.requests[0].json() == {"name": "Anna B"}
    assert server.requests[1].json() == {"image": None}
    assert server.requests[2].json() == {
        "email": "b@example.org",
        "status": "active",
        "image": "x",
    }


def test_update_user_412_raises_user_error(server, make_client):
    server.play(Reply(412, error("precondition_failed", "the user changed")))

    with pytest.raises(roster.UserError) as caught:
        make_client(server.url).users.update_user("u1", name="B", if_match='"v1"')

    assert caught.value.code == "precondition_failed"
    assert server.count == 1


@pytest.mark.parametrize("verb", ["deactivate", "reactivate"])
def test_status_change_posts_to_verb_path(server, make_client, verb):
    server.play(Reply(200, USER))

    getattr(make_client(server.url).users, f"{verb}_user")("u1")

    request = server.requests[0]
    assert request.method == "POST"
    assert request.path == f"/api/v2/users/u1/{verb}"
    assert "idempotency-key" in request.headers


def test_delete_user_returns_none(server, make_client):
    server.play(Reply(204))

    assert make_client(server.url).users.delete_user("u1") is None
    assert server.requests[0].method == "DELETE"


def test_delete_missing_user_raises_not_found(server, make_client):
    server.play(Reply(404, error("user_not_found", "no user u1")))

    with pytest.raises(roster.UserNotFoundError):
        make_client(server.url).users.delete_user("u1")


def test_list_user_groups_is_user_call(server, make_client):
    server.play(
        Reply(200, page([{**GROUP, "role": "member"}])),
        Reply(404, error("user_not_found", "no user u9")),
    )
    users = make_client(server.url).users

    groups = users.list_user_groups("u1", limit=5)
    with pytest.raises(roster.UserNotFoundError):
        users.list_user_groups("u9")

    assert groups[0]["role"] == "member"
    assert server.requests[0].path == "/api/v2/users/u1/groups"


def test_get_group_by_name(server, make_client):
    server.play(Reply(200, GROUP, {"ETag": '"g3"'}))

    group = make_client(server.url).users.get_group(name="api-approvers")

    assert group.etag == '"g3"'
    assert server.requests[0].path == "/api/v2/groups/api-approvers"


def test_create_group_sends_body_and_key(server, make_client):
    server.play(Reply(201, GROUP))

    make_client(server.url).users.create_group(
        "api-approvers", description="Approve APIs", parent_id="g0"
    )

    request = server.requests[0]
    assert request.path == "/api/v2/groups"
    assert request.json() == {
        "name": "api-approvers",
        "description": "Approve APIs",
        "parent_id": "g0",
    }
    assert "idempotency-key" in request.headers


def test_update_group_none_clears_parent(server, make_client):
    server.play(Reply(200, GROUP), Reply(200, GROUP))
    users = make_client(server.url).users

    users.update_group("g1", parent_id=None)
    users.update_group("g1", name="approvers", description="New")

    assert server.requests[0].json() == {"parent_id": None}
    assert server.requests[1].json() == {"name": "approvers", "description": "New"}


def test_group_cycle_raises_group_error(server, make_client):
    server.play(Reply(409, error("group_cycle", "g2 is a descendant of g1")))

    with pytest.raises(roster.GroupError) as caught:
        make_client(server.url).users.update_group("g1", parent_id="g2")

    assert caught.value.code == "group_cycle"
    assert not isinstance(caught.value, roster.UserError)


def test_delete_group_returns_none(server, make_client):
    server.play(Reply(204))

    assert make_client(server.url).users.delete_group("g1") is None
    assert server.requests[0].path == "/api/v2/groups/g1"


def test_add_member_puts_role(server, make_client):
    server.play(Reply(200, {"group_id": "g1", "user_id": "u1", "role": "maintainer"}))

    membership = make_client(server.url).users.add_member("g1", "u1", role="maintainer")

    assert membership["role"] == "maintainer"
    request = server.requests[0]
    assert request.method == "PUT"
    assert request.path == "/api/v2/groups/g1/members/u1"
    assert request.json() == {"role": "maintainer"}


def test_add_member_without_body_returns_empty_dict(server, make_client):
    server.play(Reply(204))

    assert make_client(server.url).users.add_member("g1", "u1") == {}


def test_membership_call_missing_user_raises_group_not_found(server, make_client):
    server.play(Reply(404, error("user_not_found", "no user u9")))

    with pytest.raises(roster.GroupNotFoundError) as caught:
        make_client(server.url).users.add_member("g1", "u9")

    assert caught.value.code == "user_not_found"
    assert not isinstance(caught.value, roster.UserError)


def test_remove_member_deletes(server, make_client):
    server.play(Reply(204))

    assert make_client(server.url).users.remove_member("g1", "u1") is None
    assert server.requests[0].method == "DELETE"
    assert server.requests[0].path == "/api/v2/groups/g1/members/u1"


def test_system_group_conflict_raises_group_error(server, make_client):
    server.play(Reply(409, error("system_group", "everyone has every user")))

    with pytest.raises(roster.GroupError) as caught:
        make_client(server.url).users.remove_member("everyone", "u1")

    assert caught.value.code == "system_group"


def test_list_members_returns_items(server, make_client):
    server.play(Reply(200, page([{**USER, "role": "member"}])))

    members = make_client(server.url).users.list_members("g1", limit=10, page=2)

    assert members == [{**USER, "role": "member"}]
    assert server.requests[0].param("limit") == "10"
    assert server.requests[0].param("transitive") is None


def test_add_member_without_role_sends_none(server, make_client):
    server.play(Reply(200, {"group_id": "g1", "user_id": "u1", "role": "maintainer"}))

    make_client(server.url).users.add_member("g1", "u1")

    assert server.requests[0].json() == {}
