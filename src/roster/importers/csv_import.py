"""Importing a directory from CSV files, all or nothing.

Three files, each with a header row that names each column once (extra columns
are ignored):

* ``users.csv``: ``email``, ``name``, optional ``status`` (an empty cell means
  ``active``) and optional ``groups`` (group names separated by ``;``, joined as
  ``member``);
* ``groups.csv``: ``name``, optional ``description`` and ``parent`` (a group name;
  an empty cell means no parent);
* ``memberships.csv``: ``group``, ``email``, optional ``role`` (default ``member``).

Values are checked by the same rules as the API's, and nothing is trimmed. No
group name may start or end with whitespace, so such a name is rejected, and so
is such a reference to a group (``parent``, ``group`` or a name in ``groups``).

Every row is checked before anything is written, and the writes happen in one
transaction, so a bad row leaves the database as it was. Importing the same files
again changes nothing: users are matched by email (as ``normalize_email``
compares them) and groups by name (case-insensitively), and only differences are
written. Only the columns a file has are compared and written: without a
``status`` column existing users keep their status and new ones are ``active``,
and without a ``description`` or ``parent`` column existing groups keep theirs.
Users, groups and memberships that the files do not mention are left alone.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from roster.store import directory
from roster.store.changes import lock_org
from roster.store.db import Database
from roster.store.errors import StoreError
from roster.store.models import (
    DESCRIPTION_MAX,
    EMAIL_MAX,
    MEMBER_ROLES,
    USER_STATUSES,
    Group,
    Membership,
    Organization,
    User,
)
from roster.store.orgs import get_org
from roster.store.validation import (
    check_choice,
    check_email,
    check_group_name,
    check_text,
    check_user_name,
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
    #: None when users.csv has no ``status`` column.
    status: str | None


@dataclass
class GroupRow:
    line: int
    name: str
    #: Used only when groups.csv has a ``description`` column.
    description: str
    #: None for no parent, or when groups.csv has no ``parent`` column.
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
    #: The columns of groups.csv, which decide what is written to existing groups.
    group_columns: frozenset[str] = frozenset()


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


class _Lines:
    """An iterator over the lines of a text that counts the lines it has given.

    ``csv.reader`` raises its errors before it counts the line that caused them,
    so the count here is the one that names the line of an error.
    """

    def __init__(self, text: str) -> None:
        # newline="" splits at \r, \n and \r\n and keeps the endings, as the csv
        # module expects.
        self._lines = io.StringIO(text, newline="")
        self.number = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        return line


def _read_text(path: Path) -> str:
    """Return the file's text, decoded as UTF-8 with an optional byte order mark."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ImportFailed(path, 0, f"cannot open file: {error.strerror}") from error
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ImportFailed(
            path,
            line,
            f"not UTF-8: byte 0x{raw[error.start]:02x} cannot be decoded; "
            "save the file as UTF-8",
        ) from error


class _CsvFile:
    """A CSV file whose header has been read and checked."""

    def __init__(self, path: Path, required: tuple[str, ...]) -> None:
        self.path = path
        self._lines = _Lines(_read_text(path))
        self._reader = csv.DictReader(self._lines, strict=True)
        try:
            header = list(self._reader.fieldnames or [])
        except csv.Error as error:
            raise ImportFailed(path, 1, f"malformed CSV: {error}") from error
        repeated = sorted({c for c in header if header.count(c) > 1})
        if repeated:
            raise ImportFailed(
                path,
                1,
                f"column(s) {', '.join(repeated)} appear more than once in the "
                "header; name each column once",
            )
        missing = [c for c in required if c not in header]
        if missing:
            raise ImportFailed(
                path,
                1,
                f"missing column(s) {', '.join(missing)}; the header has "
                f"{', '.join(header) or 'no columns'}",
            )
        self.columns = frozenset(header)

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield (line number, row) pairs."""
        path, lines = self.path, self._lines
        try:
            for row in self._reader:
                if None in row:
                    raise ImportFailed(
                        path, lines.number, "row has more fields than the header"
                    )
                yield lines.number, {k: (v or "") for k, v in row.items()}
        except csv.Error as error:
            raise ImportFailed(path, lines.number, f"malformed CSV: {error}") from error


def _check(
    path: Path, line: int, check: Callable[..., str], *args: Any, **kwargs: Any
) -> str:
    """Run a store check on one field, reporting a failure with file and line."""
    try:
        return check(*args, **kwargs)
    except StoreError as error:
        raise ImportFailed(path, line, error.message) from error


def _group_ref(path: Path, line: int, column: str, value: str) -> str:
    """Return a reference to a group, rejecting whitespace around it.

    References are not trimmed, and neither are names. No group name has
    whitespace around it, so such a reference could match no valid group.
    """
    if value != value.strip():
        raise ImportFailed(
            path,
            line,
            f"group {value!r} in column {column} starts or ends with whitespace, "
            "which no group name may; remove it",
        )
    return value


def read_plan(
    users_csv: Path | None, groups_csv: Path | None, memberships_csv: Path | None
) -> ImportPlan:
    """Read and check the files, without touching the database."""
    plan = ImportPlan()
    if users_csv is not None:
        _read_users(plan, _CsvFile(users_csv, ("email", "name")))
    if groups_csv is not None:
        _read_groups(plan, _CsvFile(groups_csv, ("name",)))
    if memberships_csv is not None:
        _read_memberships(plan, _CsvFile(memberships_csv, ("group", "email")))
    return plan


def _read_users(plan: ImportPlan, file: _CsvFile) -> None:
    users_csv = file.path
    has_status = "status" in file.columns
    seen_emails: dict[str, int] = {}
    for line, row in file.rows():
        email = _check(users_csv, line, check_email, row["email"], max_length=EMAIL_MAX)
        name = _check(users_csv, line, check_user_name, row["name"])
        status = None
        if has_status:
            status = row["status"] or "active"
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
            if group:
                group = _group_ref(users_csv, line, "groups", group)
                plan.members.append(MemberRow(users_csv, line, group, email, "member"))


def _read_groups(plan: ImportPlan, file: _CsvFile) -> None:
    groups_csv = file.path
    plan.group_columns = file.columns
    seen_groups: dict[str, int] = {}
    for line, row in file.rows():
        name = _check(groups_csv, line, check_group_name, row["name"])
        description = _check(
            groups_csv,
            line,
            check_text,
            "description",
            row.get("description", ""),
            max_length=DESCRIPTION_MAX,
            multiline=True,
            allow_empty=True,
        )
        if fold(name) in seen_groups:
            first = seen_groups[fold(name)]
            raise ImportFailed(
                groups_csv, line, f"group {name!r} already appears on line {first}"
            )
        seen_groups[fold(name)] = line
        parent = row.get("parent") or None
        if parent is not None:
            parent = _group_ref(groups_csv, line, "parent", parent)
        plan.groups.append(GroupRow(line, name, description, parent))


def _read_memberships(plan: ImportPlan, file: _CsvFile) -> None:
    memberships_csv = file.path
    for line, row in file.rows():
        email = _check(
            memberships_csv, line, check_email, row["email"], max_length=EMAIL_MAX
        )
        role = row.get("role") or "member"
        _check(memberships_csv, line, check_choice, "role", role, MEMBER_ROLES)
        group = _group_ref(memberships_csv, line, "group", row["group"])
        plan.members.append(MemberRow(memberships_csv, line, group, email, role))


@dataclass
class _Current:
    """The organisation's users, groups and memberships, loaded once per import.

    The organisation stays locked from before the load until the import commits,
    so no other writer can change them in between.
    """

    users: dict[str, User]
    groups: dict[str, Group]
    memberships: dict[tuple[uuid.UUID, uuid.UUID], Membership]

    @classmethod
    def load(cls, session: Session, org_id: uuid.UUID) -> _Current:
        users = session.scalars(select(User).where(User.org_id == org_id))
        groups = session.scalars(select(Group).where(Group.org_id == org_id))
        memberships = session.scalars(
            select(Membership).where(Membership.org_id == org_id)
        )
        return cls(
            users={u.email_norm: u for u in users},
            groups={g.name_fold: g for g in groups},
            memberships={(m.group_id, m.user_id): m for m in memberships},
        )


def _resolve(plan: ImportPlan, current: _Current, groups_csv: Path | None) -> None:
    """Check that every group and user a row refers to exists in the files or the
    database."""
    known_groups = {fold(g.name) for g in plan.groups} | set(current.groups)
    known_users = {normalize_email(u.email) for u in plan.users} | set(current.users)
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


def _parents_first(
    groups: list[GroupRow], existing: dict[str, Group], groups_csv: Path | None
) -> list[GroupRow]:
    """Order the rows so that every new group follows the new group that is its
    parent, which lets each new group get its parent when it is created.

    Raises ImportFailed for a cycle of new groups. A cycle through an existing
    group is found when that group's new parent is checked.
    """
    by_name = {fold(row.name): row for row in groups}
    ordered: list[GroupRow] = []
    placed: set[str] = set()
    for row in groups:
        chain: list[GroupRow] = []
        current: GroupRow | None = row
        while current is not None and fold(current.name) not in placed:
            if current in chain:
                assert groups_csv is not None
                names = [r.name for r in chain[chain.index(current) :]]
                raise ImportFailed(
                    groups_csv,
                    current.line,
                    f"parent cycle: {' -> '.join([*names, current.name])}",
                )
            chain.append(current)
            parent = by_name.get(fold(current.parent)) if current.parent else None
            current = parent if parent and fold(parent.name) not in existing else None
        for link in reversed(chain):
            ordered.append(link)
            placed.add(fold(link.name))
    return ordered


def import_directory(
    db: Database,
    org_name: str,
    *,
    users_csv: Path | None = None,
    groups_csv: Path | None = None,
    memberships_csv: Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the files into an organisation in one transaction.

    Raises ImportFailed, naming the file and line, for the first row that cannot
    be imported; nothing is written then.
    """
    plan = read_plan(users_csv, groups_csv, memberships_csv)
    members = _merged_members(plan.members)
    report = ImportReport()
    total = len(plan.users) + len(plan.groups) + len(members)
    done = 0

    def step(name: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(name, done, total)

    with db.write() as session:
        org = lock_org(session, get_org(session, org_name).id)
        current = _Current.load(session, org.id)
        _resolve(plan, current, groups_csv)
        importer = _Importer(session, org, current, report, plan.group_columns)

        for user_row in plan.users:
            assert users_csv is not None
            importer.user(users_csv, user_row)
            step("users")
        # The models declare no relationships, so a flush orders its inserts by
        # model, not by foreign key. Flushing users, then groups, inserts them
        # before the memberships that refer to them.
        session.flush()

        existing_groups = set(current.groups)
        for group_row in _parents_first(plan.groups, current.groups, groups_csv):
            assert groups_csv is not None
            if fold(group_row.name) not in existing_groups:
                importer.new_group(groups_csv, group_row)
                step("groups")
        session.flush()
        for group_row in plan.groups:
            assert groups_csv is not None
            if fold(group_row.name) in existing_groups:
                importer.existing_group(groups_csv, group_row)
                step("groups")

        for member in members:
            importer.member(member)
            step("memberships")
    return report


@dataclass
class _Importer:
    """Writes the rows of a checked plan through the store, recording changes.

    New rows are added without a query each, from what ``_Current`` loaded;
    changes to existing rows go through the store's update functions.
    """

    session: Session
    org: Organization
    current: _Current
    report: ImportReport
    group_columns: frozenset[str]

    def user(self, path: Path, row: UserRow) -> None:
        norm = normalize_email(row.email)
        existing = self.current.users.get(norm)
        if existing is None:
            user = directory.add_user(
                self.session,
                self.org,
                ACTOR,
                email=row.email,
                name=row.name,
                status=row.status or "active",
            )
            self.current.users[norm] = user
            self.report.users_created += 1
            return
        changes = {"name": row.name, "email": row.email}
        if row.status is not None:
            changes["status"] = row.status
        if all(getattr(existing, k) == v for k, v in changes.items()):
            return
        try:
            directory.update_user(
                self.session, self.org.id, ACTOR, str(existing.id), changes
            )
        except StoreError as error:
            raise ImportFailed(path, row.line, error.message) from error
        self.report.users_updated += 1

    def new_group(self, path: Path, row: GroupRow) -> None:
        parent = self.current.groups[fold(row.parent)] if row.parent else None
        if parent is not None:
            try:
                directory.check_nesting(parent, None)
            except StoreError as error:
                raise ImportFailed(path, row.line, error.message) from error
        group = directory.add_group(
            self.session,
            self.org,
            ACTOR,
            name=row.name,
            # Without a description column, row.description is empty.
            description=row.description,
            parent_id=parent.id if parent else None,
        )
        self.current.groups[group.name_fold] = group
        self.report.groups_created += 1

    def existing_group(self, path: Path, row: GroupRow) -> None:
        group = self.current.groups[fold(row.name)]
        parent = self.current.groups[fold(row.parent)] if row.parent else None
        changes: dict[str, Any] = {}
        if "description" in self.group_columns and group.description != (
            row.description
        ):
            changes["description"] = row.description
        parent_id = parent.id if parent else None
        if "parent" in self.group_columns and group.parent_id != parent_id:
            changes["parent_id"] = parent_id
        if not changes:
            return
        try:
            directory.update_group(
                self.session, self.org.id, ACTOR, str(group.id), changes
            )
        except StoreError as error:
            # Raised for a parent that would make a cycle or nest a system group.
            raise ImportFailed(path, row.line, error.message) from error
        self.report.groups_updated += 1

    def member(self, row: MemberRow) -> None:
        group = self.current.groups[fold(row.group)]
        user = self.current.users[normalize_email(row.email)]
        try:
            directory.check_member_group(group)
        except StoreError as error:
            raise ImportFailed(row.path, row.line, error.message) from error
        key = (group.id, user.id)
        membership = self.current.memberships.get(key)
        if membership is None:
            self.current.memberships[key] = directory.add_membership(
                self.session, self.org, ACTOR, group, user, row.role
            )
            self.report.memberships_added += 1
        elif directory.change_role(self.session, self.org, ACTOR, membership, row.role):
            self.report.memberships_updated += 1


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
