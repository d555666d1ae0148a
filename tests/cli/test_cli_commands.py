"""The ``roster`` command against a live server and the real databases.

Commands run in-process through the same entry point as the installed script
(``roster.cli.main.main``), so exit codes, stdout and stderr are the real ones.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

import roster
from roster.cli.main import main


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    # The command sets logger levels for its process; restore them for the
    # tests that follow.
    loggers = [logging.getLogger(name) for name in ("", "roster.sdk", "alembic")]
    levels = [logger.level for logger in loggers]

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exit:
            code = int(exit.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    yield run
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def client_args(org: Any) -> list[str]:
    return ["--url", org.url, "--api-key", org.api_key]


def database_arg(org: Any) -> list[str]:
    return ["--database", org.db.url.render_as_string(hide_password=False)]


def test_users_table_aligns_wide_characters(run: Any, k8s_org: Any) -> None:
    result = run("users", "list", "--limit", "100", *client_args(k8s_org))

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["EMAIL", "NAME", "STATUS", "GROUPS", "ID"]
    rows = [line for line in lines[2:] if line.strip()]
    assert len(rows) == 100
    assert any(cell_len(row) != len(row) for row in rows), "no wide names on page"
    status_columns = {cell_len(row[: row.index(" active ")]) for row in rows}
    assert len(status_columns) == 1


def test_users_all_as_json(run: Any, k8s_org: Any) -> None:
    result = run("users", "list", "--all", "--output", "json", *client_args(k8s_org))

    assert result.exit_code == 0
    users = json.loads(result.stdout)
    assert len(users) == 1276
    assert len({u["id"] for u in users}) == 1276
    assert result.stderr == ""


def test_users_all_as_csv(run: Any, k8s_org: Any) -> None:
    result = run(
        "users", "list", "--all", "--limit", "333", "-o", "csv", *client_args(k8s_org)
    )

    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1276
    assert {r["status"] for r in rows} == {"active"}
    assert any(";" in r["groups"] for r in rows)


def test_csv_quotes_commas_and_quotes(run: Any, org: Any) -> None:
    name = 'Doe, "Jane" 李'
    with roster.Client(base_url=org.url, api_key=org.api_key) as client:
        client.users.create_user("jane@example.org", name)

    result = run("users", "list", "-o", "csv", *client_args(org))

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["name"] for r in rows] == [name]


def test_empty_listing_says_so(run: Any, org: Any) -> None:
    result = run("users", "list", *client_args(org))

    assert result.exit_code == 0
    assert result.stdout.strip() == "No users found."


def test_users_filters_reach_the_server(run: Any, k8s_org: Any) -> None:
    result = run(
        "users",
        "list",
        "--name-contains",
        "VAN ",
        "--sort",
        "-email",
        "-o",
        "json",
        *client_args(k8s_org),
    )

    users = json.loads(result.stdout)
    assert users
    assert all("van " in u["name"].casefold() for u in users)
    assert [u["email"] for u in users] == sorted(
        (u["email"] for u in users), reverse=True
    )


def test_groups_list_system_first(run: Any, k8s_org: Any) -> None:
    result = run("groups", "list", *client_args(k8s_org))

    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()[2:] if line]
    assert names[:2] == ["admins", "everyone"]
    assert len(names) == 286


def test_groups_list_json_and_custom_filter(run: Any, k8s_org: Any) -> None:
    result = run("groups", "list", "--custom", "-o", "json", *client_args(k8s_org))

    groups = json.loads(result.stdout)
    assert len(groups) == 284
    assert not any(g["system"] for g in groups)


def test_wrong_key_fails_without_traceback(run: Any, k8s_org: Any) -> None:
    result = run("users", "list", "--url", k8s_org.url, "--api-key", "rst_nope")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "roster: error: Failed to list users" in result.stderr
    assert "401" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_key_is_a_usage_error(
    run: Any, k8s_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROSTER_API_KEY", raising=False)

    result = run("users", "list", "--url", k8s_org.url)

    assert result.exit_code == 2
    assert "ROSTER_API_KEY" in result.stderr


def test_out_of_range_limit_is_a_usage_error(run: Any, k8s_org: Any) -> None:
    result = run("users", "list", "--limit", "0", *client_args(k8s_org))

    assert result.exit_code == 2
    assert "--limit" in result.stderr


def test_unknown_user_fails(run: Any, org: Any) -> None:
    result = run("users", "get", "nobody@example.org", *client_args(org))

    assert result.exit_code == 1
    assert "not found" in result.stderr


def test_environment_supplies_url_and_key(
    run: Any, k8s_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROSTER_URL", k8s_org.url)
    monkeypatch.setenv("ROSTER_API_KEY", k8s_org.api_key)

    result = run("users", "list", "--limit", "3", "-o", "json")

    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 3


def test_user_lifecycle(run: Any, org: Any) -> None:
    created = run(
        "users",
        "create",
        "--email",
        "Ana@Example.org",
        "--name",
        "Ana 🌟",
        *client_args(org),
    )
    user = json.loads(created.stdout)
    renamed = run("users", "update", user["id"], "--name", "Ana B", *client_args(org))
    deactivated = run("users", "deactivate", user["id"], *client_args(org))
    fetched = run("users", "get", "ana@example.org", *client_args(org))
    deleted = run("users", "delete", user["id"], *client_args(org))
    after = run("users", "get", user["id"], *client_args(org))

    assert created.exit_code == 0
    assert user["name"] == "Ana 🌟"
    assert user["email"] == "Ana@Example.org"
    assert json.loads(renamed.stdout)["name"] == "Ana B"
    assert json.loads(deactivated.stdout)["status"] == "deactivated"
    assert json.loads(fetched.stdout)["status"] == "deactivated"
    assert deleted.exit_code == 0
    assert after.exit_code == 1


def test_group_and_membership_commands(run: Any, org: Any) -> None:
    with roster.Client(base_url=org.url, api_key=org.api_key) as client:
        user = client.users.create_user("lee@example.org", "Lee")

    parent = json.loads(run("groups", "create", "platform", *client_args(org)).stdout)
    child = json.loads(
        run(
            "groups", "create", "sre", "--parent", parent["id"], *client_args(org)
        ).stdout
    )
    added = run(
        "groups",
        "add-member",
        child["id"],
        user["id"],
        "--role",
        "maintainer",
        *client_args(org),
    )
    direct = run("groups", "members", parent["id"], "-o", "json", *client_args(org))
    nested = run(
        "groups",
        "members",
        parent["id"],
        "--transitive",
        "-o",
        "json",
        *client_args(org),
    )
    removed = run("groups", "remove-member", child["id"], user["id"], *client_args(org))
    deleted = run("groups", "delete", child["id"], *client_args(org))

    assert child["parent_id"] == parent["id"]
    assert json.loads(added.stdout)["role"] == "maintainer"
    assert json.loads(direct.stdout) == []
    assert [m["email"] for m in json.loads(nested.stdout)] == ["lee@example.org"]
    assert removed.exit_code == 0
    assert deleted.exit_code == 0


def test_changes_and_audit(run: Any, org: Any) -> None:
    with roster.Client(base_url=org.url, api_key=org.api_key) as client:
        client.users.create_user("kim@example.org", "Kim")

    changes = run("changes", "list", "-o", "json", *client_args(org))
    audit = run("audit", "-o", "json", *client_args(org))

    assert [c["type"] for c in json.loads(changes.stdout)] == ["user.created"]
    assert "next cursor: 1" in changes.stderr
    entries = json.loads(audit.stdout)
    assert entries[0]["actor"] == "admin-key"
    assert org.api_key not in audit.stdout


def test_keys_create_prints_a_working_key_once(run: Any, org: Any) -> None:
    created = run(
        "keys", "create", "--org", org.name, "--name", "ci", *database_arg(org)
    )
    listed = run("keys", "list", "--org", org.name, *database_arg(org))
    key = created.stdout.strip()
    used = run("users", "list", "--url", org.url, "--api-key", key)

    assert created.exit_code == 0
    assert key.startswith("rst_")
    assert len(created.stdout.splitlines()) == 1
    assert "cannot be shown again" in created.stderr
    assert key not in listed.stdout
    assert "ci\tadmin" in listed.stdout
    assert used.exit_code == 0


def test_revoked_key_is_rejected(run: Any, org: Any) -> None:
    key = run("keys", "create", "--org", org.name, "--name", "temp", *database_arg(org))
    revoked = run(
        "keys", "revoke", "--org", org.name, "--name", "temp", *database_arg(org)
    )
    used = run("users", "list", "--url", org.url, "--api-key", key.stdout.strip())

    assert revoked.exit_code == 0
    assert used.exit_code == 1
    assert "401" in used.stderr


def test_orgs_create_twice_fails(run: Any, server: Any) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    database = ["--database", server.db.url.render_as_string(hide_password=False)]

    first = run("orgs", "create", name, *database)
    second = run("orgs", "create", name, *database)

    assert first.exit_code == 0
    assert second.exit_code == 1
    assert "already exists" in second.stderr


def test_import_error_names_file_and_line(run: Any, org: Any, tmp_path: Any) -> None:
    users = tmp_path / "users.csv"
    users.write_text(
        "email,name,status\nok@example.org,Ok,active\nnot-an-email,Bad,active\n",
        encoding="utf-8",
    )

    result = run("import", "--org", org.name, str(tmp_path), *database_arg(org))
    listed = run("users", "list", "-o", "json", *client_args(org))

    assert result.exit_code == 1
    assert f"{users}:3:" in result.stderr
    assert "not-an-email" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(listed.stdout) == []


def test_import_without_files_is_a_usage_error(
    run: Any, org: Any, tmp_path: Any
) -> None:
    result = run("import", "--org", org.name, str(tmp_path), *database_arg(org))

    assert result.exit_code == 2
    assert "nothing to import" in result.stderr


def test_audit_with_reader_key_fails_cleanly(run: Any, org: Any) -> None:
    result = run("audit", "--url", org.url, "--api-key", org.reader_key)

    assert result.exit_code == 1
    assert "403" in result.stderr
    assert "Traceback" not in result.stderr


def test_changes_with_bad_cursor_fails_cleanly(run: Any, org: Any) -> None:
    result = run("changes", "list", "--after", "x", *client_args(org))

    assert result.exit_code == 1
    assert "roster: error:" in result.stderr
    assert "Traceback" not in result.stderr


def test_url_without_scheme_fails_cleanly(run: Any, org: Any) -> None:
    result = run("users", "list", "--url", "localhost:8080", "--api-key", "k")

    assert result.exit_code == 1
    assert "roster: error:" in result.stderr
    assert "Traceback" not in result.stderr


def test_csv_export_imports_again(
    run: Any, k8s_org: Any, make_another_org: Any
) -> None:
    exported = run("users", "list", "--all", "-o", "csv", *client_args(k8s_org))
    groups = run("groups", "list", "--custom", "-o", "csv", *client_args(k8s_org))
    target = make_another_org()
    folder = Path(tempfile.mkdtemp())
    (folder / "users.csv").write_text(exported.stdout, encoding="utf-8")
    (folder / "groups.csv").write_text(groups.stdout, encoding="utf-8")

    imported = run("import", "--org", target.name, str(folder), *database_arg(target))
    copied = run("users", "list", "--all", "-o", "json", *client_args(target))

    assert imported.exit_code == 0, imported.stderr
    users = json.loads(copied.stdout)
    assert len(users) == 1276
    assert sum(len(u["groups"]) for u in users) > 1000


@pytest.mark.parametrize(
    "option",
    [
        ["--status", "bogus"],
        ["--sort", "bogus"],
        ["--created-since", "yesterday"],
        ["--updated-since", "2026-01-31T09:00:00"],
    ],
)
def test_invalid_filter_is_a_usage_error(run: Any, org: Any, option: list[str]) -> None:
    result = run("users", "list", *option, *client_args(org))

    assert result.exit_code == 2
    assert option[0] in result.stderr


def test_parent_given_by_name(run: Any, org: Any) -> None:
    parent = json.loads(run("groups", "create", "platform", *client_args(org)).stdout)

    child = run("groups", "create", "sre", "--parent", "platform", *client_args(org))

    assert child.exit_code == 0, child.stderr
    assert json.loads(child.stdout)["parent_id"] == parent["id"]


def test_script_without_server_extra_explains(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from roster.cli import entry

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "click" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    with pytest.raises(SystemExit) as exit:
        entry.main()

    assert exit.value.code == 1
    assert "pip install 'orgroster[server]'" in capsys.readouterr().err


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_narrow_terminal_keeps_ids_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from roster.cli import output

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)
    rows = [
        {
            "email": f"someone.with.a.long.name{i}@k8s.example.org",
            "name": "Aaliyah van Liendert-Oyelaran 郭欢",
            "status": "active",
            "groups": [],
            "id": str(uuid.uuid4()),
        }
        for i in range(3)
    ]
    stream = FakeTerminal()

    output.write_rows(
        rows,
        "table",
        table=output.USER_TABLE,
        csv_columns=output.USER_CSV,
        empty="",
        stream=stream,
    )

    text = stream.getvalue()
    for row in rows:
        assert row["id"] in text
        assert row["email"] in text


def test_duplicate_key_name_fails_cleanly(run: Any, org: Any) -> None:
    first = run(
        "keys", "create", "--org", org.name, "--name", "twice", *database_arg(org)
    )
    second = run(
        "keys", "create", "--org", org.name, "--name", "twice", *database_arg(org)
    )

    assert first.exit_code == 0
    assert second.exit_code == 1
    assert "already has a key named 'twice'" in second.stderr
    assert "Traceback" not in second.stderr


def test_db_upgrade_reports_revisions(run: Any, tmp_path: Any) -> None:
    database = ["--database", str(tmp_path / "fresh.db")]

    first = run("db", "upgrade", *database)
    second = run("db", "upgrade", *database)

    assert first.exit_code == 0
    assert "upgraded from empty to" in first.stdout
    assert "already at the latest revision" in second.stdout
