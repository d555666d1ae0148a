"""Text tables of users and groups."""

from __future__ import annotations

from roster.sdk._text import format_groups, format_users

from .scripted_server import Reply, page


def test_users_table_sorted_by_email_with_group_counts():
    users = [
        {"email": "zoe@x.org", "name": "Zoe", "uuid": "u3", "user_status": "active",
         "groups": ["g1", "g2", "g3"]},
        {"email": "Anna@x.org", "name": "Anna", "uuid": "u1", "status": "invited",
         "groups": ["g1"]},
        {"email": "bob@x.org", "name": "Bob", "uuid": "u2", "status": "deactivated",
         "groups": []},
    ]  # fmt: skip

    table = format_users(users)

    assert table.splitlines() == [
        "EMAIL\tNAME\tUUID\tSTATUS\tGROUPS",
        "Anna@x.org\tAnna\tu1\tinvited\t1 group",
        "bob@x.org\tBob\tu2\tdeactivated\tnone",
        "zoe@x.org\tZoe\tu3\tactive\t3 groups",
    ]


def test_users_table_prefers_user_status_over_status():
    table = format_users([{"email": "a@x.org", "user_status": "active", "status": "x"}])

    assert table.splitlines()[1].split("\t")[3] == "active"


def test_users_table_fills_missing_fields():
    table = format_users([{"email": "a@x.org", "id": "u9"}])

    assert table.splitlines()[1] == "a@x.org\t\tu9\t\tnone"


def test_empty_tables_say_so():
    assert format_users([]) == "No users found."
    assert format_groups([]) == "No groups found."


def test_control_characters_cannot_break_table():
    users = [{"email": "a@x.org", "name": "Evil\tName\nNext\r\x1bRow", "uuid": "u1"}]

    lines = format_users(users).splitlines()

    assert len(lines) == 2
    assert lines[1].split("\t") == ["a@x.org", "Evil Name Next  Row", "u1", "", "none"]


def test_groups_table_puts_system_first():
    groups = [
        {"name": "zeta", "uuid": "g4", "description": "Z", "system": False},
        {"name": "everyone", "uuid": "g2", "description": "All users", "system": True},
        {"name": "Alpha", "uuid": "g3", "description": None, "system": False},
        {"name": "admins", "uuid": "g1", "description": "Admins", "system": True},
    ]

    assert format_groups(groups).splitlines() == [
        "NAME\tUUID\tDESCRIPTION\tTYPE",
        "admins\tg1\tAdmins\tSystem",
        "everyone\tg2\tAll users\tSystem",
        "Alpha\tg3\t\tCustom",
        "zeta\tg4\tZ\tCustom",
    ]


def test_group_description_with_newline_stays_on_one_row():
    groups = [{"name": "g", "uuid": "g1", "description": "line one\nline two"}]

    assert format_groups(groups).splitlines()[1] == "g\tg1\tline one line two\tCustom"


def test_list_users_text_output(server, make_client):
    server.play(Reply(200, page([{"email": "a@x.org", "name": "A", "uuid": "u1"}])))

    table = make_client(server.url).users.list_users(output_format="text")

    assert table == "EMAIL\tNAME\tUUID\tSTATUS\tGROUPS\na@x.org\tA\tu1\t\tnone"


def test_list_groups_text_output(server, make_client):
    server.play(Reply(200, []))

    assert make_client(server.url).users.list_groups("text") == "No groups found."
