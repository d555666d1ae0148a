"""Importing a directory from CSV files, all or nothing.

Three files, each with a header row (extra columns are ignored):

* ``users.csv``: ``email``, ``name``, optional ``status`` (default ``active``) and
  optional ``groups`` (group names separated by ``;``, joined as ``member``);
* ``groups.csv``: ``name``, optional ``description`` and ``parent`` (a group name);
* ``memberships.csv``: ``group``, ``email``, optional ``role`` (default ``member``).

Every row is checked before anything is written, and the writes happen in one
transaction, so a bad row leaves the database as it was. Importing the same files
again changes nothing: users are matched by email and groups by name
(case-insensitively), and only differences are written. Users, groups and
memberships that the files do not mention are left alone.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from roster.store import directory
from roster.store.db import Database
from roster.store.errors import StoreError
from roster.store.models import (
    DESCRIPTION_MAX,
    EMAIL_MAX,
    GROUP_NAME_MAX,
    MEMBER_ROLES,
    NAME_MAX,
    USER_STATUSES,
    Group,
    Membership,
    User,
)
from roster.store.orgs import get_org
from roster.store.validation import (
    check_choice,
    check_email,
    check_text,
    fold,
    normalize_email,
)

#: Called with (step, done, total) as the import proceeds.
Progress = Callable[[str, int, int], None]

ACTOR = "import"


class ImportFailed(Exception):
    """A row cannot be imported. Nothing was written."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


@dataclass
class UserRow:
    line: int
    email: str
    name: str
    status: str


@dataclass
class GroupRow:
    line: int
    name: str
    description: str
    parent: str | None


@dataclass
class MemberRow:
    path: Path
    line: int
    group: str
    email: str
    role: str


@dataclass
class ImportPlan:
    users: list[UserRow] = field(default_factory=list)
    groups: list[GroupRow] = field(default_factory=list)
    members: list[MemberRow] = field(default_factory=list)


@dataclass
class ImportReport:
    users_created: int = 0
    users_updated: int = 0
    groups_created: int = 0
    groups_updated: int = 0
    memberships_added: int = 0
    memberships_updated: int = 0

    @property
    def changed(self) -> bool:
        return any(vars(self).values())


def _rows(
    path: Path, required: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) pairs, checking the header first."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise ImportFailed(path, 0, f"cannot open file: {error.strerror}") from error
    with handle:
        reader = csv.DictReader(handle, strict=True)
        try:
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise ImportFailed(
                    path,
                    1,
                    f"missing column(s) {', '.join(missing)}; the header has "
                    f"{', '.join(header) or 'no columns'}",
                )
            for row in reader:
                if None in row:
                    raise ImportFailed(
                        path, reader.line_num, "row has more fields than the header"
                    )
                yield reader.line_num, {k: (v or "") for k, v in row.items()}
        except csv.Error as error:
            raise ImportFailed(
                path, reader.line_num, f"malformed CSV: {error}"
            ) from error
        except UnicodeDecodeError as error:
            raise ImportFailed(path, reader.line_num, f"not UTF-8: {error}") from error


def _check(
    path: Path, line: int, check: Callable[..., str], *args: Any, **kwargs: Any
) -> str:
    """Run a store check on one field, reporting a failure with file and line."""
    try:
        return check(*args, **kwargs)
    except StoreError as error:
        raise ImportFailed(path, line, error.message) from error


def read_plan(
    users_csv: Path | None, groups_csv: Path | None, memberships_csv: Path | None
) -> ImportPlan:
    """Read and check the files, without touching the database."""
    plan = ImportPlan()
    seen_emails: dict[str, int] = {}
    if users_csv is not None:
        for line, row in _rows(users_csv, ("email", "name")):
            email = _check(
                users_csv, line, check_email, row["email"], max_length=EMAIL_MAX
            )
            name = _check(
                users_csv, line, check_text, "name", row["name"], max_length=NAME_MAX
            )
            status = row.get("status") or "active"
            _check(users_csv, line, check_choice, "status", status, USER_STATUSES)
            norm = normalize_email(email)
            if norm in seen_emails:
                raise ImportFailed(
                    users_csv,
                    line,
                    f"email {email!r} already appears on line {seen_emails[norm]}",
                )
            seen_emails[norm] = line
            plan.users.append(UserRow(line, email, name, status))
            for group in row.get("groups", "").split(";"):
                if group.strip():
                    member = MemberRow(users_csv, line, group.strip(), email, "member")
                    plan.members.append(member)

    seen_groups: dict[str, int] = {}
    if groups_csv is not None:
        for line, row in _rows(groups_csv, ("name",)):
            name = _check(
                groups_csv,
                line,
                check_text,
                "name",
                row["name"],
                max_length=GROUP_NAME_MAX,
            )
            description = _check(
                groups_csv,
                line,
                check_text,
                "description",
                row.get("description", ""),
                max_length=DESCRIPTION_MAX,
                allow_empty=True,
            )
            if fold(name) in seen_groups:
                first = seen_groups[fold(name)]
                raise ImportFailed(
                    groups_csv, line, f"group {name!r} already appears on line {first}"
                )
            seen_groups[fold(name)] = line
            parent = row.get("parent", "").strip() or None
            plan.groups.append(GroupRow(line, name, description, parent))

    if memberships_csv is not None:
        for line, row in _rows(memberships_csv, ("group", "email")):
            email = _check(
                memberships_csv, line, check_email, row["email"], max_length=EMAIL_MAX
            )
            role = row.get("role") or "member"
            _check(memberships_csv, line, check_choice, "role", role, MEMBER_ROLES)
            group = row["group"].strip()
            plan.members.append(MemberRow(memberships_csv, line, group, email, role))
    return plan


def _resolve(
    plan: ImportPlan, session: Session, org_id: uuid.UUID, groups_csv: Path | None
) -> None:
    """Check that every group and user a row refers to exists in the files or the
    database."""
    known_groups = {fold(g.name) for g in plan.groups} | set(
        session.scalars(select(Group.name_fold).where(Group.org_id == org_id))
    )
    known_users = {normalize_email(u.email) for u in plan.users} | set(
        session.scalars(select(User.email_norm).where(User.org_id == org_id))
    )
    for group in plan.groups:
        if group.parent is not None and fold(group.parent) not in known_groups:
            assert groups_csv is not None
            raise ImportFailed(
                groups_csv,
                group.line,
                f"parent group {group.parent!r} is neither in the file nor in the "
                "organisation",
            )
    for member in plan.members:
        if fold(member.group) not in known_groups:
            raise ImportFailed(
                member.path,
                member.line,
                f"unknown group {member.group!r}: add it to groups.csv or create "
                "it first",
            )
        if normalize_email(member.email) not in known_users:
            raise ImportFailed(
                member.path,
                member.line,
                f"unknown user {member.email!r}: add it to users.csv or create "
                "it first",
            )


def import_directory(
    db: Database,
    org_name: str,
    *,
    users_csv: Path | None = None,
    groups_csv: Path | None = None,
    memberships_csv: Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the files into an organisation in one transaction."""
    plan = read_plan(users_csv, groups_csv, memberships_csv)
    report = ImportReport()
    total = len(plan.users) + 2 * len(plan.groups) + len(plan.members)
    done = 0

    def step(name: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(name, done, total)

    with db.write() as session:
        org = get_org(session, org_name)
        _resolve(plan, session, org.id, groups_csv)

        try:
            for user_row in plan.users:
                _import_user(session, org.id, user_row, report)
                step("users")
            group_ids: dict[str, uuid.UUID] = {}
            for group_row in plan.groups:
                group_ids[fold(group_row.name)] = _import_group(
                    session, org.id, group_row, report
                )
                step("groups")
            for group_row in plan.groups:
                _import_parent(session, org.id, group_row, report)
                step("groups")
            for member in _merged_members(plan.members):
                _import_member(session, org.id, member, report)
                step("memberships")
        except ImportFailed:
            raise
        except StoreError as error:
            # Raised by a check that needs the database, such as a parent cycle;
            # the row that caused it is the one being written.
            raise ImportFailed(Path("?"), 0, error.message) from error
    return report


def _import_user(
    session: Session, org_id: uuid.UUID, row: UserRow, report: ImportReport
) -> None:
    existing = session.scalar(
        select(User).where(
            User.org_id == org_id, User.email_norm == normalize_email(row.email)
        )
    )
    if existing is None:
        directory.create_user(
            session, org_id, ACTOR, email=row.email, name=row.name, status=row.status
        )
        report.users_created += 1
        return
    changes = {"name": row.name, "status": row.status, "email": row.email}
    if any(getattr(existing, k) != v for k, v in changes.items()):
        directory.update_user(session, org_id, ACTOR, str(existing.id), changes)
        report.users_updated += 1


def _import_group(
    session: Session, org_id: uuid.UUID, row: GroupRow, report: ImportReport
) -> uuid.UUID:
    existing = session.scalar(
        select(Group).where(Group.org_id == org_id, Group.name_fold == fold(row.name))
    )
    if existing is None:
        group = directory.create_group(
            session, org_id, ACTOR, name=row.name, description=row.description
        )
        report.groups_created += 1
        return group.id
    if existing.description != row.description:
        directory.update_group(
            session, org_id, ACTOR, str(existing.id), {"description": row.description}
        )
        report.groups_updated += 1
    return existing.id


def _import_parent(
    session: Session, org_id: uuid.UUID, row: GroupRow, report: ImportReport
) -> None:
    group = directory.get_group(session, org_id, row.name)
    parent_id = (
        directory.get_group(session, org_id, row.parent).id if row.parent else None
    )
    if group.parent_id == parent_id:
        return
    try:
        directory.update_group(
            session, org_id, ACTOR, str(group.id), {"parent_id": parent_id}
        )
    except StoreError as error:
        raise ImportFailed(Path("groups.csv"), row.line, error.message) from error
    report.groups_updated += 1


def _merged_members(members: list[MemberRow]) -> list[MemberRow]:
    """Merge duplicate (group, email) rows; an explicit maintainer role wins."""
    merged: dict[tuple[str, str], MemberRow] = {}
    for member in members:
        key = (fold(member.group), normalize_email(member.email))
        current = merged.get(key)
        if current is None or (
            member.role == "maintainer" and current.role != "maintainer"
        ):
            merged[key] = member
    return list(merged.values())


def _import_member(
    session: Session, org_id: uuid.UUID, row: MemberRow, report: ImportReport
) -> None:
    group = directory.get_group(session, org_id, row.group)
    user = directory.get_user(session, org_id, row.email)
    membership = session.get(Membership, (group.id, user.id))
    if membership is not None and membership.role == row.role:
        return
    try:
        _, created = directory.set_membership(
            session, org_id, ACTOR, str(group.id), str(user.id), row.role
        )
    except StoreError as error:
        raise ImportFailed(row.path, row.line, error.message) from error
    if created:
        report.memberships_added += 1
    else:
        report.memberships_updated += 1
