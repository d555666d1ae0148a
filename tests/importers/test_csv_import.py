"""Importing CSV files: the example organisation, re-imports and all-or-nothing."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from roster.importers.csv_import import ImportFailed, ImportReport, import_directory
from roster.store import directory
from roster.store.db import Database
from roster.store.models import Change, Group, Membership, Organization, User
from roster.store.orgs import get_org

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kubernetes-org"


def import_from(db: Database, org_name: str, root: Path, **kwargs: Any) -> ImportReport:
    """Import whichever of the three files exist under ``root``."""
    files = {
        f"{stem}_csv": root / f"{stem}.csv"
        for stem in ("users", "groups", "memberships")
        if (root / f"{stem}.csv").exists()
    }
    return import_directory(db, org_name, **files, **kwargs)


@dataclass(frozen=True)
class Snapshot:
    users: int
    groups: int
    nested: int
    memberships: int
    maintainers: int
    changes: int
    version: int
    updated: frozenset[tuple[str, str]]


def snapshot(db: Database, org_name: str) -> Snapshot:
    with db.read() as session:
        org = get_org(session, org_name)

        def count(*conditions: Any, model: Any) -> int:
            query = select(func.count()).select_from(model)
            return session.scalar(query.where(model.org_id == org.id, *conditions)) or 0

        users = session.execute(
            select(User.email, User.updated_at).where(User.org_id == org.id)
        )
        groups = session.execute(
            select(Group.name, Group.updated_at).where(Group.org_id == org.id)
        )
        updated = {(str(a), b.isoformat()) for a, b in [*users, *groups]}
        return Snapshot(
            users=count(model=User),
            groups=count(Group.system.is_(False), model=Group),
            nested=count(Group.parent_id.is_not(None), model=Group),
            memberships=count(model=Membership),
            maintainers=count(Membership.role == "maintainer", model=Membership),
            changes=count(model=Change),
            version=session.scalar(
                select(Organization.version).where(Organization.id == org.id)
            )
            or 0,
            updated=frozenset(updated),
        )


def changes_of(db: Database, org_name: str) -> list[Change]:
    with db.read() as session:
        org = get_org(session, org_name)
        query = select(Change).where(Change.org_id == org.id).order_by(Change.seq)
        return list(session.scalars(query))


def test_example_import_counts(backend: Database, org_name: str) -> None:
    report = import_from(backend, org_name, EXAMPLES)
    state = snapshot(backend, org_name)

    assert state.users == 1276
    assert state.groups == 284
    assert state.nested == 42
    assert state.memberships == 1690
    assert state.maintainers == 73
    assert report.users_created == 1276
    assert report.groups_created == 284
    assert report.memberships_added == 1690


def test_first_import_reports_only_creations(backend: Database, org_name: str) -> None:
    report = import_from(backend, org_name, EXAMPLES)
    changes = changes_of(backend, org_name)
    types = Counter(c.type for c in changes)
    nested = [c for c in changes if c.type == "group.created" and c.data["parent_id"]]

    assert report.users_updated == 0
    assert report.groups_updated == 0
    assert report.memberships_updated == 0
    assert types == {
        "user.created": 1276,
        "group.created": 284,
        "membership.added": 1690,
    }
    assert len(nested) == 42
    assert [c.seq for c in changes] == list(range(1, len(changes) + 1))
    assert {c.actor for c in changes} == {"import"}


def test_reimport_changes_nothing(backend: Database, org_name: str) -> None:
    import_from(backend, org_name, EXAMPLES)
    before = snapshot(backend, org_name)

    report = import_from(backend, org_name, EXAMPLES)

    assert report.changed is False
    assert report == ImportReport()
    assert snapshot(backend, org_name) == before


def test_import_issues_few_statements(backend: Database, org_name: str) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(backend.engine, "before_cursor_execute", count)
    try:
        import_from(backend, org_name, EXAMPLES)
    finally:
        event.remove(backend.engine, "before_cursor_execute", count)

    # One statement per row, as before, would be over 3,250; batches need a few.
    assert len(statements) < 60


def test_progress_reaches_total(backend: Database, org_name: str) -> None:
    calls: list[tuple[str, int, int]] = []

    import_from(backend, org_name, EXAMPLES, progress=lambda *a: calls.append(a))

    assert calls[-1][1] == calls[-1][2]
    assert [done for _step, done, _total in calls] == list(range(1, len(calls) + 1))
    assert {step for step, _done, _total in calls} == {"users", "groups", "memberships"}


def write(root: Path, name: str, text: str | bytes) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


BASE_USERS = (
    "email,name,status,groups\n"
    "ada@example.org,Ada,active,core\n"
    "bob@example.org,Bob,invited,\n"
    "cyd@example.org,Cyd,active,core;web\n"
)
BASE_GROUPS = "name,description,parent\ncore,Core team,\nweb,Web team,core\n"
BASE_MEMBERS = "group,email,role\ncore,ada@example.org,maintainer\n"


@pytest.fixture
def seeded(backend: Database, org_name: str, tmp_path: Path) -> str:
    """An organisation holding a small imported directory."""
    root = tmp_path / "seed"
    write(root, "users.csv", BASE_USERS)
    write(root, "groups.csv", BASE_GROUPS)
    write(root, "memberships.csv", BASE_MEMBERS)
    report = import_from(backend, org_name, root)
    assert report.memberships_added == 3
    return org_name


def test_small_import_creates_rows(backend: Database, seeded: str) -> None:
    state = snapshot(backend, seeded)

    assert state.users == 3
    assert state.groups == 2
    assert state.nested == 1
    assert state.memberships == 3
    assert state.maintainers == 1


def test_parent_later_in_file_is_set_at_creation(
    backend: Database, org_name: str, tmp_path: Path
) -> None:
    groups = "name,description,parent\nleaf,,middle\nmiddle,,root\nroot,,\n"
    write(tmp_path, "groups.csv", groups)

    report = import_from(backend, org_name, tmp_path)
    changes = changes_of(backend, org_name)
    created = {c.data["name"]: c.data for c in changes}

    assert report.groups_created == 3
    assert report.groups_updated == 0
    assert [c.type for c in changes] == ["group.created"] * 3
    assert [c.data["name"] for c in changes] == ["root", "middle", "leaf"]
    assert created["leaf"]["parent_id"] == created["middle"]["id"]
    assert created["middle"]["parent_id"] == created["root"]["id"]


def test_reimport_applies_differences(
    backend: Database, seeded: str, tmp_path: Path
) -> None:
    root = tmp_path / "changed"
    write(
        root,
        "users.csv",
        BASE_USERS.replace("Bob,invited", "Robert,active").replace(
            "ada@example.org", "ADA@example.org"
        ),
    )
    write(root, "groups.csv", "name,description,parent\ncore,Core,\nweb,Web team,\n")
    write(root, "memberships.csv", "group,email,role\ncore,ada@example.org,member\n")
    before = snapshot(backend, seeded).changes

    report = import_from(backend, seeded, root)
    types = [c.type for c in changes_of(backend, seeded)[before:]]

    assert report.users_updated == 2
    assert report.groups_updated == 2
    assert report.memberships_updated == 1
    assert report.users_created == 0
    assert types == [
        "user.updated",
        "user.updated",
        "group.updated",
        "group.updated",
        "membership.updated",
    ]


@dataclass(frozen=True)
class BadFile:
    file: str
    text: str | bytes
    line: int
    reason: str


BAD_FILES = {
    "invalid-email": BadFile(
        "users.csv", BASE_USERS + "not-an-email,Bad,active,\n", 5, "invalid email"
    ),
    "empty-name": BadFile(
        "users.csv", BASE_USERS + "e@example.org,,active,\n", 5, "name"
    ),
    "long-name": BadFile(
        "users.csv", BASE_USERS + f"e@example.org,{'n' * 257},active,\n", 5, "maximum"
    ),
    "bad-status": BadFile(
        "users.csv", BASE_USERS + "e@example.org,E,asleep,\n", 5, "status"
    ),
    "duplicate-email": BadFile(
        "users.csv", BASE_USERS + "BOB@example.org,Twin,active,\n", 5, "line 3"
    ),
    "missing-column": BadFile(
        "users.csv", "email,status\nada@example.org,active\n", 1, "missing column"
    ),
    "extra-field": BadFile(
        "users.csv", BASE_USERS + "e@example.org,E,active,,surplus\n", 5, "more fields"
    ),
    "malformed-csv": BadFile(
        "users.csv", BASE_USERS + 'e@example.org,"E" x,active,\n', 5, "malformed CSV"
    ),
    "not-utf8": BadFile(
        "users.csv",
        BASE_USERS.encode() + "e@example.org,Zoë,active,\n".encode("latin-1"),
        5,
        "not UTF-8",
    ),
    "unknown-group-in-users": BadFile(
        "users.csv", BASE_USERS + "e@example.org,E,active,nowhere\n", 5, "unknown group"
    ),
    "unknown-group": BadFile(
        "memberships.csv",
        BASE_MEMBERS + "nowhere,ada@example.org,member\n",
        3,
        "unknown group 'nowhere'",
    ),
    "unknown-user": BadFile(
        "memberships.csv",
        BASE_MEMBERS + "core,ghost@example.org,member\n",
        3,
        "unknown user",
    ),
    "bad-role": BadFile(
        "memberships.csv", BASE_MEMBERS + "core,bob@example.org,owner\n", 3, "role"
    ),
    "everyone-member": BadFile(
        "memberships.csv",
        BASE_MEMBERS + "everyone,bob@example.org,member\n",
        3,
        "everyone",
    ),
    "unknown-parent": BadFile(
        "groups.csv", BASE_GROUPS + "ops,,nowhere\n", 4, "parent group 'nowhere'"
    ),
    "duplicate-group": BadFile("groups.csv", BASE_GROUPS + "CORE,,\n", 4, "line 2"),
    "new-cycle": BadFile(
        "groups.csv", BASE_GROUPS + "a,,b\nb,,c\nc,,a\n", 4, "cycle: a -> b -> c -> a"
    ),
    "self-parent": BadFile("groups.csv", BASE_GROUPS + "a,,a\n", 4, "cycle"),
    "existing-cycle": BadFile(
        "groups.csv", "name,description,parent\ncore,Core team,web\n", 2, "nested"
    ),
    "existing-self-parent": BadFile(
        "groups.csv", "name,description,parent\nweb,Web team,web\n", 2, "nested"
    ),
    "system-parent": BadFile("groups.csv", BASE_GROUPS + "ops,,admins\n", 4, "system"),
    "system-child": BadFile(
        "groups.csv", BASE_GROUPS + "everyone,,core\n", 4, "system"
    ),
    "nfd-duplicate-email": BadFile(
        "users.csv",
        BASE_USERS
        + "zo\u00eb@example.org,Zoe,active,\n"
        + "zoe\u0308@xn--exmple-cua.org,Zoe,active,\n"
        + "ZOË@EXÄMPLE.ORG,Zoe,active,\n",
        7,
        "line 6",
    ),
    "duplicate-user-column": BadFile(
        "users.csv", "email,name,email\nada@example.org,Ada,x\n", 1, "email appear"
    ),
    "duplicate-group-column": BadFile(
        "groups.csv", "name,parent,parent\nops,,\n", 1, "parent appear"
    ),
    "dot-group": BadFile("groups.csv", BASE_GROUPS + "..,,\n", 4, "path segment"),
    "slash-group": BadFile("groups.csv", BASE_GROUPS + "a/b,,\n", 4, "'/'"),
    "spaced-group": BadFile("groups.csv", BASE_GROUPS + " ops,,\n", 4, "whitespace"),
    "zero-width-group": BadFile(
        "groups.csv", BASE_GROUPS + "o\u200bps,,\n", 4, "U+200B"
    ),
    "bidi-group": BadFile("groups.csv", BASE_GROUPS + "\u202eops,,\n", 4, "U+202E"),
    "spaced-parent": BadFile(
        "groups.csv", BASE_GROUPS + "ops,, core\n", 4, "column parent"
    ),
    "spaced-membership-group": BadFile(
        "memberships.csv",
        BASE_MEMBERS + "core ,bob@example.org,member\n",
        3,
        "column group",
    ),
    "spaced-users-group": BadFile(
        "users.csv", BASE_USERS + "e@example.org,E,active,core; web\n", 5, "groups"
    ),
    "expanding-user-name": BadFile(
        "users.csv",
        BASE_USERS + "e@example.org," + "\ufdfa" * 43 + ",active,\n",
        5,
        "to 774 characters, beyond the maximum of 768",
    ),
    "expanding-group-name": BadFile(
        "groups.csv",
        BASE_GROUPS + "\u337f" * 97 + ",,\n",
        4,
        "to 388 characters, beyond the maximum of 384",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_row_changes_nothing(
    backend: Database, seeded: str, tmp_path: Path, case: str
) -> None:
    bad = BAD_FILES[case]
    root = tmp_path / "bad"
    write(root, "users.csv", BASE_USERS + "new@example.org,New Person,active,web\n")
    write(root, "groups.csv", BASE_GROUPS + "extra,Extra team,web\n")
    write(root, "memberships.csv", BASE_MEMBERS)
    path = write(root, bad.file, bad.text)
    before = snapshot(backend, seeded)

    with pytest.raises(ImportFailed) as failure:
        import_from(backend, seeded, root)

    assert failure.value.path == path
    assert failure.value.line == bad.line
    assert bad.reason in failure.value.reason
    assert str(failure.value).startswith(f"{path}:{bad.line}: ")
    assert snapshot(backend, seeded) == before


def test_late_failure_rolls_back_whole_example(
    backend: Database, seeded: str, tmp_path: Path
) -> None:
    root = tmp_path / "example"
    shutil.copytree(EXAMPLES, root)
    groups = root / "groups.csv"
    lines = groups.read_text(encoding="utf-8").count("\n")
    with groups.open("a", encoding="utf-8") as handle:
        handle.write("core,Core team,web\n")
    before = snapshot(backend, seeded)

    # The cycle is found after every user and group of the example was written.
    with pytest.raises(ImportFailed) as failure:
        import_from(backend, seeded, root)

    assert failure.value.path == groups
    assert failure.value.line == lines + 1
    assert "nested inside" in failure.value.reason
    assert snapshot(backend, seeded) == before


def test_missing_file_is_reported(
    backend: Database, org_name: str, tmp_path: Path
) -> None:
    missing = tmp_path / "users.csv"

    with pytest.raises(ImportFailed) as failure:
        import_directory(backend, org_name, users_csv=missing)

    assert failure.value.path == missing
    assert failure.value.line == 0
    assert "cannot open" in failure.value.reason


def users_by_email(db: Database, org_name: str) -> dict[str, User]:
    with db.read() as session:
        org = get_org(session, org_name)
        users = session.scalars(select(User).where(User.org_id == org.id))
        return {u.email: u for u in users}


def groups_by_name(db: Database, org_name: str) -> dict[str, Group]:
    with db.read() as session:
        org = get_org(session, org_name)
        groups = session.scalars(select(Group).where(Group.org_id == org.id))
        return {g.name: g for g in groups}


def test_users_without_status_column_keep_status(
    backend: Database, seeded: str, tmp_path: Path
) -> None:
    with backend.write() as session:
        org = get_org(session, seeded)
        directory.update_user(
            session, org.id, "test", "ada@example.org", {"status": "deactivated"}
        )
    users = (
        "email,name\nada@example.org,Ada\nbob@example.org,Bob\nnew@example.org,New\n"
    )
    write(tmp_path, "users.csv", users)

    report = import_from(backend, seeded, tmp_path)
    statuses = {e: u.status for e, u in users_by_email(backend, seeded).items()}

    assert report.users_created == 1
    assert report.users_updated == 0
    assert statuses == {
        "ada@example.org": "deactivated",
        "bob@example.org": "invited",
        "cyd@example.org": "active",
        "new@example.org": "active",
    }


def test_users_without_status_column_still_get_renamed(
    backend: Database, seeded: str, tmp_path: Path
) -> None:
    write(tmp_path, "users.csv", "email,name\nbob@example.org,Robert\n")

    report = import_from(backend, seeded, tmp_path)
    bob = users_by_email(backend, seeded)["bob@example.org"]

    assert report.users_updated == 1
    assert bob.name == "Robert"
    assert bob.status == "invited"


def test_groups_without_description_column_keep_descriptions(
    backend: Database, seeded: str, tmp_path: Path
) -> None:
    write(tmp_path, "groups.csv", "name,parent\ncore,\nweb,core\nops,core\n")
    before = snapshot(backend, seeded)

    report = import_from(backend, seeded, tmp_path)
    groups = groups_by_name(backend, seeded)

    assert report.groups_created == 1
    assert report.groups_updated == 0
    assert groups["core"].description == "Core team"
    assert groups["web"].description == "Web team"
    assert groups["ops"].description == ""
    assert groups["ops"].parent_id == groups["core"].id
    assert snapshot(backend, seeded).updated == before.updated | {
        ("ops", groups["ops"].updated_at.isoformat())
    }


def test_groups_without_parent_column_keep_parents(
    backend: Database, seeded: str, tmp_path: Path
) -> None:
    groups_csv = "name,description\ncore,Core team\nweb,Web\nops,Ops team\n"
    write(tmp_path, "groups.csv", groups_csv)

    report = import_from(backend, seeded, tmp_path)
    groups = groups_by_name(backend, seeded)

    assert report.groups_created == 1
    assert report.groups_updated == 1
    assert groups["web"].parent_id == groups["core"].id
    assert groups["web"].description == "Web"
    assert groups["ops"].parent_id is None


def test_groups_with_empty_parent_cell_lose_parent(
    backend: Database, seeded: str, tmp_path: Path
) -> None:
    write(tmp_path, "groups.csv", "name,parent\nweb,\n")

    report = import_from(backend, seeded, tmp_path)

    assert report.groups_updated == 1
    assert groups_by_name(backend, seeded)["web"].parent_id is None
