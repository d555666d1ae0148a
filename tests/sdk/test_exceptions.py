"""The exception tree and what failures put into exceptions."""

from __future__ import annotations

import pytest

import roster
from roster import exceptions

from .scripted_server import Reply, Reset, error


@pytest.mark.parametrize(
    ("child", "parents"),
    [
        (roster.UserNotFoundError, (roster.UserError, roster.RosterError)),
        (roster.GroupNotFoundError, (roster.GroupError, roster.RosterError)),
        (roster.UserArgumentError, (roster.UserError, roster.InvalidArgumentError)),
        (roster.GroupArgumentError, (roster.GroupError, roster.InvalidArgumentError)),
        (roster.UserCircuitOpenError, (roster.UserError, roster.CircuitOpenError)),
        (roster.GroupCircuitOpenError, (roster.GroupError, roster.CircuitOpenError)),
        (roster.InvalidArgumentError, (roster.RosterError, ValueError)),
    ],
)
def test_exception_tree(child, parents):
    for parent in parents:
        assert issubclass(child, parent)


def test_user_and_group_families_are_disjoint():
    user_family = [c for c in vars(exceptions).values() if _is_sub(c, roster.UserError)]
    group_family = [
        c for c in vars(exceptions).values() if _is_sub(c, roster.GroupError)
    ]

    assert len(user_family) == 4
    assert len(group_family) == 4
    assert not any(issubclass(c, roster.GroupError) for c in user_family)
    assert not any(issubclass(c, roster.UserError) for c in group_family)


def _is_sub(value: object, parent: type) -> bool:
    return isinstance(value, type) and issubclass(value, parent)


def test_exception_tree_is_drawn_in_module_docstring():
    doc = exceptions.__doc__ or ""

    for name in exceptions.__all__:
        assert name in doc


def test_error_without_response_has_empty_attributes():
    failure = roster.UserError("Failed to list users: boom")

    assert str(failure) == "Failed to list users: boom"
    assert failure.status_code is None
    assert failure.code is None
    assert failure.request_id is None
    assert failure.response is None
    assert failure.attempts == 0
    assert failure.retry_after is None


def test_401_is_recognisable_and_hints_at_key(server, make_client):
    server.play(Reply(401, error("unauthenticated", "unknown API key", "r-401")))

    with pytest.raises(roster.UserError) as caught:
        make_client(server.url).users.list_users()

    assert caught.value.status_code == 401
    assert caught.value.code == "unauthenticated"
    assert str(caught.value) == (
        "Failed to list users: HTTP 401 unauthenticated: unknown API key "
        "(request id r-401). Check the API key passed as api_key= or set in "
        "ROSTER_API_KEY"
    )


def test_403_explains_role(server, make_client):
    server.play(Reply(403, error("forbidden", "reader keys cannot write")))

    with pytest.raises(roster.GroupError) as caught:
        make_client(server.url).users.delete_group("g1")

    assert caught.value.code == "forbidden"
    assert str(caught.value).endswith("lacks the role that this call needs")


def test_error_carries_response(server, make_client):
    server.play(Reply(409, error("group_name_taken", "admins exists")))

    with pytest.raises(roster.GroupError) as caught:
        make_client(server.url).users.create_group("admins")

    assert caught.value.response is not None
    assert caught.value.response.status_code == 409
    assert caught.value.response.json()["error"]["code"] == "group_name_taken"


def test_request_id_falls_back_to_header(server, make_client):
    server.play(
        Reply(502, b"<html><b>Bad gateway</b>\n</html>", {"X-Request-ID": "h-1"})
    )
    client = make_client(server.url, retry=None)

    with pytest.raises(roster.UserError) as caught:
        client.users.list_users()

    assert caught.value.request_id == "h-1"
    assert caught.value.code is None
    assert str(caught.value) == (
        "Failed to list users: HTTP 502 Bad Gateway: <html><b>Bad gateway</b> "
        "</html> (request id h-1)"
    )


def test_long_error_body_is_cut(server, make_client):
    server.play(Reply(400, "x" * 5000))

    with pytest.raises(roster.UserError) as caught:
        make_client(server.url).users.list_users()

    assert len(str(caught.value)) < 700
    assert "xxx..." in str(caught.value)


def test_transport_error_keeps_cause_and_id(server, make_client):
    server.play(Reset())

    with pytest.raises(roster.UserError) as caught:
        make_client(server.url, retry=None).users.list_users()

    assert caught.value.__cause__ is not None
    assert caught.value.request_id == server.requests[0].headers["x-request-id"]
    assert "closed or reset before the full response arrived" in str(caught.value)
    assert f"(request id {caught.value.request_id})" in str(caught.value)
