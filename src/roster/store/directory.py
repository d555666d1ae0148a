"""Reads and writes of one organisation's users, groups and memberships.

Every function takes the organisation's id and filters on it. Writes lock the
organisation first (``lock_org``) and append one change per effect to the feed.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from roster.store import paging
from roster.store.changes import lock_org, record_change
from roster.store.errors import Conflict, InvalidValue, NotFound, PreconditionFailed
from roster.store.models import (
    DESCRIPTION_MAX,
    EMAIL_MAX,
    EVERYONE_GROUP,
    IMAGE_MAX,
    MEMBER_ROLES,
    USER_STATUSES,
    Group,
    Membership,
    Organization,
    User,
    utcnow,
)
from roster.store.paging import Page, PageMemory, SortKey
from roster.store.validation import (
    check_choice,
    check_email,
    check_group_name,
    check_text,
    check_user_name,
    email_domain,
    fold,
    is_encodable,
    normalize_domain,
    normalize_email,
)
from roster.store.views import group_view, user_view

_str, _uuid, _dt = paging.decode_str, paging.decode_uuid, paging.decode_datetime

USER_SORTS: dict[str, tuple[tuple[Any, ...], tuple[paging.KeyDecoder, ...]]] = {
    "email": ((User.email_norm, User.id), (_str, _uuid)),
    "name": ((User.name_fold, User.id), (_str, _uuid)),
    "created_at": ((User.created_at, User.id), (_dt, _uuid)),
    "updated_at": ((User.updated_at, User.id), (_dt, _uuid)),
}
GROUP_SORTS: dict[str, tuple[tuple[Any, ...], tuple[paging.KeyDecoder, ...]]] = {
    "name": ((Group.name_fold, Group.id), (_str, _uuid)),
    "created_at": ((Group.created_at, Group.id), (_dt, _uuid)),
    "updated_at": ((Group.updated_at, Group.id), (_dt, _uuid)),
}


def sort_key(
    sorts: dict[str, tuple[tuple[Any, ...], tuple[paging.KeyDecoder, ...]]], spec: str
) -> SortKey:
    """Parse ``name`` or ``-name`` into a sort key; the id breaks ties."""
    descending = spec.startswith("-")
    name = spec.removeprefix("-")
    if name not in sorts:
        allowed = ", ".join(f"{s}, -{s}" for s in sorts)
        raise InvalidValue("sort", f"sort must be one of {allowed}; got {spec!r}")
    columns, decoders = sorts[name]
    return SortKey(spec, columns, decoders, descending)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Look-ups


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _is_storable(ref: str) -> bool:
    """Return whether a stored value could equal ``ref``.

    Stored values contain neither NUL, which PostgreSQL rejects in a query, nor
    lone surrogates, which the drivers cannot encode.
    """
    return "\x00" not in ref and is_encodable(ref)


def get_user(session: Session, org_id: uuid.UUID, ref: str) -> User:
    """Return the user with this id or email (compared as ``normalize_email``)."""
    not_found = NotFound(f"user {ref!r} not found", code="user_not_found")
    user_id = _parse_uuid(ref)
    if user_id is not None:
        condition = User.id == user_id
    elif not _is_storable(ref):
        raise not_found
    else:
        condition = User.email_norm == normalize_email(ref)
    user = session.scalar(select(User).where(User.org_id == org_id, condition))
    if user is None:
        raise not_found
    return user


def get_group(session: Session, org_id: uuid.UUID, ref: str) -> Group:
    """Return the group with this id or name (case-insensitive)."""
    not_found = NotFound(f"group {ref!r} not found", code="group_not_found")
    if not _is_storable(ref):
        raise not_found
    group = None
    group_id = _parse_uuid(ref)
    if group_id is not None:
        group = session.scalar(
            select(Group).where(Group.org_id == org_id, Group.id == group_id)
        )
    if group is None:
        # A name may itself look like a UUID, so an id that matches nothing is
        # tried as a name too.
        group = session.scalar(
            select(Group).where(Group.org_id == org_id, Group.name_fold == fold(ref))
        )
    if group is None:
        raise not_found
    return group


def group_ids_of_users(
    session: Session, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Return each user's direct groups, in a stable order."""
    result: dict[uuid.UUID, list[uuid.UUID]] = {u: [] for u in user_ids}
    if not user_ids:
        return result
    rows = session.execute(
        select(Membership.user_id, Membership.group_id)
        .where(Membership.user_id.in_(user_ids))
        .order_by(Membership.user_id, Membership.group_id)
    )
    for user_id, group_id in rows:
        result[user_id].append(group_id)
    return result


def member_counts(
    session: Session, org_id: uuid.UUID, groups: list[Group]
) -> dict[uuid.UUID, int]:
    counts: dict[uuid.UUID, int] = defaultdict(int)
    ids = [g.id for g in groups]
    if ids:
        rows = session.execute(
            select(Membership.group_id, func.count())
            .where(Membership.group_id.in_(ids))
            .group_by(Membership.group_id)
        )
        counts.update({group_id: count for group_id, count in rows})
    if any(_is_everyone(g) for g in groups):
        total = session.scalar(select(func.count()).where(User.org_id == org_id)) or 0
        for group in groups:
            if _is_everyone(group):
                counts[group.id] = total
    return counts


def _is_everyone(group: Group) -> bool:
    return group.system and group.name == EVERYONE_GROUP


def user_views(session: Session, users: list[User]) -> list[dict[str, Any]]:
    groups = group_ids_of_users(session, [u.id for u in users])
    return [user_view(u, groups[u.id]) for u in users]


def group_views(
    session: Session, org_id: uuid.UUID, groups: list[Group]
) -> list[dict[str, Any]]:
    counts = member_counts(session, org_id, groups)
    return [group_view(g, counts[g.id]) for g in groups]


# Listings


@dataclass(frozen=True)
class UserFilters:
    status: str | None = None
    email: str | None = None
    email_domain: str | None = None
    name_contains: str | None = None
    group: str | None = None
    created_since: datetime | None = None
    updated_since: datetime | None = None

    def scope(self) -> tuple[Any, ...]:
        return (
            self.status,
            self.email and normalize_email(self.email),
            self.email_domain and normalize_domain(self.email_domain),
            self.name_contains and fold(self.name_contains),
            self.group,
            self.created_since,
            self.updated_since,
        )


def users_query(
    session: Session, org_id: uuid.UUID, filters: UserFilters
) -> Select[User]:
    query = select(User).where(User.org_id == org_id)
    if filters.status is not None:
        check_choice("status", filters.status, USER_STATUSES)
        query = query.where(User.status == filters.status)
    if filters.email is not None:
        query = query.where(User.email_norm == normalize_email(filters.email))
    if filters.email_domain is not None:
        domain = normalize_domain(filters.email_domain)
        query = query.where(User.email_domain == domain)
    if filters.name_contains:
        query = query.where(
            User.name_fold.like(_like_pattern(fold(filters.name_contains)), escape="\\")
        )
    if filters.group is not None:
        group = get_group(session, org_id, filters.group)
        if not _is_everyone(group):
            members = select(Membership.user_id).where(Membership.group_id == group.id)
            query = query.where(User.id.in_(members))
    if filters.created_since is not None:
        query = query.where(User.created_at >= filters.created_since)
    if filters.updated_since is not None:
        query = query.where(User.updated_at >= filters.updated_since)
    return query


def org_version(session: Session, org_id: uuid.UUID) -> int:
    return (
        session.scalar(select(Organization.version).where(Organization.id == org_id))
        or 0
    )


def list_users(
    session: Session,
    org_id: uuid.UUID,
    *,
    filters: UserFilters,
    sort: str,
    limit: int,
    page: int,
    cursor: str | None,
    memory: PageMemory,
) -> Page[User]:
    return paging.fetch_page(
        session,
        users_query(session, org_id, filters),
        sort=sort_key(USER_SORTS, sort),
        limit=limit,
        page=page,
        cursor=cursor,
        scope=(org_id, "users", *filters.scope()),
        version=org_version(session, org_id),
        memory=memory,
    )


@dataclass(frozen=True)
class GroupFilters:
    name_contains: str | None = None
    system: bool | None = None
    parent: str | None = None

    def scope(self) -> tuple[Any, ...]:
        return (
            self.name_contains and fold(self.name_contains),
            self.system,
            self.parent,
        )


def groups_query(
    session: Session, org_id: uuid.UUID, filters: GroupFilters
) -> Select[Group]:
    query = select(Group).where(Group.org_id == org_id)
    if filters.name_contains:
        query = query.where(
            Group.name_fold.like(
                _like_pattern(fold(filters.name_contains)), escape="\\"
            )
        )
    if filters.system is not None:
        query = query.where(Group.system == filters.system)
    if filters.parent is not None:
        parent = get_group(session, org_id, filters.parent)
        query = query.where(Group.parent_id == parent.id)
    return query


def list_groups(
    session: Session,
    org_id: uuid.UUID,
    *,
    filters: GroupFilters,
    sort: str,
    limit: int,
    page: int,
    cursor: str | None,
    memory: PageMemory,
) -> Page[Group]:
    return paging.fetch_page(
        session,
        groups_query(session, org_id, filters),
        sort=sort_key(GROUP_SORTS, sort),
        limit=limit,
        page=page,
        cursor=cursor,
        scope=(org_id, "groups", *filters.scope()),
        version=org_version(session, org_id),
        memory=memory,
    )


def all_groups(
    session: Session, org_id: uuid.UUID, filters: GroupFilters, sort: str | None
) -> list[Group]:
    """Return every matching group: system groups first, then by name, unless
    ``sort`` names another order."""
    query = groups_query(session, org_id, filters)
    if sort is None:
        query = query.order_by(Group.system.desc(), Group.name_fold, Group.id)
    else:
        key = sort_key(GROUP_SORTS, sort)
        query = query.order_by(
            *[c.desc() if key.descending else c.asc() for c in key.columns]
        )
    return list(session.scalars(query))


def descendant_ids(session: Session, group: Group) -> list[uuid.UUID]:
    """Return the ids of the group and every group nested below it."""
    tree = select(Group.id).where(Group.id == group.id).cte("tree", recursive=True)
    tree = tree.union(
        select(Group.id).where(
            Group.parent_id == tree.c.id, Group.org_id == group.org_id
        )
    )
    return list(session.scalars(select(tree.c.id)))


@dataclass
class MemberPage:
    page: Page[User]
    roles: dict[uuid.UUID, str | None]
    via: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)


def list_members(
    session: Session,
    org_id: uuid.UUID,
    group: Group,
    *,
    transitive: bool,
    limit: int,
    page: int,
    cursor: str | None,
    sort: str,
    memory: PageMemory,
) -> MemberPage:
    """List a group's members, or with ``transitive`` those of its subgroups too."""
    query = select(User).where(User.org_id == org_id)
    group_ids = [group.id]
    if not _is_everyone(group):
        if transitive:
            group_ids = descendant_ids(session, group)
        members = select(Membership.user_id).where(Membership.group_id.in_(group_ids))
        query = query.where(User.id.in_(members))
    result = paging.fetch_page(
        session,
        query,
        sort=sort_key(USER_SORTS, sort),
        limit=limit,
        page=page,
        cursor=cursor,
        scope=(org_id, "members", group.id, transitive),
        version=org_version(session, org_id),
        memory=memory,
    )
    user_ids = [u.id for u in result.rows]
    roles: dict[uuid.UUID, str | None] = dict.fromkeys(user_ids)
    via: dict[uuid.UUID, list[uuid.UUID]] = {u: [] for u in user_ids}
    if _is_everyone(group):
        roles = dict.fromkeys(user_ids, "member")
    elif user_ids:
        rows = session.execute(
            select(Membership.user_id, Membership.group_id, Membership.role)
            .where(Membership.user_id.in_(user_ids))
            .where(Membership.group_id.in_(group_ids))
            .order_by(Membership.group_id)
        )
        for user_id, group_id, role in rows:
            via[user_id].append(group_id)
            if group_id == group.id:
                roles[user_id] = role
    return MemberPage(result, roles, via if transitive else {})


def list_user_groups(
    session: Session,
    org_id: uuid.UUID,
    user: User,
    *,
    limit: int,
    page: int,
    cursor: str | None,
    sort: str,
    memory: PageMemory,
) -> tuple[Page[Group], dict[uuid.UUID, str]]:
    """List the groups a user is a direct member of, with the user's role in each."""
    direct = select(Membership.group_id).where(Membership.user_id == user.id)
    query = select(Group).where(Group.org_id == org_id, Group.id.in_(direct))
    result = paging.fetch_page(
        session,
        query,
        sort=sort_key(GROUP_SORTS, sort),
        limit=limit,
        page=page,
        cursor=cursor,
        scope=(org_id, "user-groups", user.id),
        version=org_version(session, org_id),
        memory=memory,
    )
    rows = session.execute(
        select(Membership.group_id, Membership.role).where(
            Membership.user_id == user.id,
            Membership.group_id.in_([g.id for g in result.rows]),
        )
    )
    roles = {group_id: role for group_id, role in rows}
    return result, roles


# Writes

#: The fields a client may set on a user, a group and a membership.
USER_FIELDS = ("email", "name", "status", "image")
GROUP_FIELDS = ("name", "description", "parent_id")
MEMBERSHIP_FIELDS = ("role",)


def reject_unknown_fields(
    kind: str, body: dict[str, Any], allowed: tuple[str, ...]
) -> None:
    """Raise InvalidValue naming the first field of ``body`` not in ``allowed``."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidValue(
            unknown[0],
            f"unknown field(s) {', '.join(unknown)}; a {kind} has {', '.join(allowed)}",
        )


def _check_version(kind: str, current: int, expected: Collection[int] | None) -> None:
    """Raise PreconditionFailed unless ``current`` is one of ``expected``.

    ``expected`` is None when the request has no precondition.
    """
    if expected is not None and current not in expected:
        listed = ", ".join(f'"{v}"' for v in sorted(expected))
        if not listed:
            listed = "no strong ETag of Roster's (weak tags never match)"
        raise PreconditionFailed(
            f'{kind} has changed since it was read: its ETag is "{current}" and '
            f"If-Match lists {listed}; read it again and reapply the change"
        )


@dataclass
class _TransactionRows:
    """The rows that one write transaction changed, and its ``everyone`` group."""

    transaction: object
    touched: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    everyone: Group | None = None


#: Key in ``Session.info`` of the current transaction's ``_TransactionRows``.
_TRANSACTION_ROWS = "roster_transaction_rows"


def _transaction_rows(session: Session) -> _TransactionRows:
    transaction = session.get_transaction()
    rows: _TransactionRows | None = session.info.get(_TRANSACTION_ROWS)
    if rows is None or rows.transaction is not transaction:
        rows = _TransactionRows(transaction)
        session.info[_TRANSACTION_ROWS] = rows
    return rows


def _touch(session: Session, row: User | Group) -> None:
    """Bump the row's version, and so its ETag, once per transaction.

    Every write that changes a representation calls this, including membership
    changes, which change a user's ``groups`` and a group's ``member_count``.
    ``updated_at`` is left alone because it records when the row's own fields
    changed. A row created in the transaction keeps version 1.
    """
    rows = _transaction_rows(session)
    key = (type(row).__name__, row.id)
    if key not in rows.touched:
        rows.touched.add(key)
        row.version += 1


def _created(session: Session, row: User | Group) -> None:
    """Note a row added in this transaction, whose version needs no bump."""
    _transaction_rows(session).touched.add((type(row).__name__, row.id))


def _touch_everyone(session: Session, org_id: uuid.UUID) -> None:
    """Bump the version of the ``everyone`` group, whose member count is the
    number of users."""
    rows = _transaction_rows(session)
    if rows.everyone is None:
        rows.everyone = session.scalar(
            select(Group).where(
                Group.org_id == org_id,
                Group.system.is_(True),
                Group.name == EVERYONE_GROUP,
            )
        )
    if rows.everyone is not None:
        _touch(session, rows.everyone)


def _email_taken(email: str) -> Conflict:
    return Conflict(
        f"a user with email {email!r} already exists (emails are compared "
        "case-insensitively)",
        code="email_taken",
    )


def create_user(
    session: Session,
    org_id: uuid.UUID,
    actor: str,
    *,
    email: Any,
    name: Any,
    status: Any = "active",
    image: Any = None,
) -> User:
    email = check_email(email, max_length=EMAIL_MAX)
    name = check_user_name(name)
    status = check_choice("status", status, USER_STATUSES)
    if image is not None:
        image = check_text("image", image, max_length=IMAGE_MAX)
    org = lock_org(session, org_id)

    norm = normalize_email(email)
    if session.scalar(
        select(User.id).where(User.org_id == org_id, User.email_norm == norm)
    ):
        raise _email_taken(email)
    user = add_user(
        session, org, actor, email=email, name=name, status=status, image=image
    )
    try:
        session.flush()
    except IntegrityError as error:
        raise _email_taken(email) from error
    return user


def add_user(
    session: Session,
    org: Organization,
    actor: str,
    *,
    email: str,
    name: str,
    status: str,
    image: str | None = None,
) -> User:
    """Add a user and record its creation, without checks and without flushing.

    The caller has checked the values, locked ``org`` with ``lock_org`` and made
    sure that no user of the organisation has the email.
    """
    now = utcnow()
    user = User(
        id=uuid.uuid4(),
        org_id=org.id,
        email=email,
        email_norm=normalize_email(email),
        email_domain=email_domain(email),
        name=name,
        name_fold=fold(name),
        status=status,
        image=image,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    _created(session, user)
    _touch_everyone(session, org.id)
    record_change(
        session,
        org,
        type="user.created",
        resource_type="user",
        resource_id=user.id,
        data=user_view(user),
        actor=actor,
    )
    return user


def update_user(
    session: Session,
    org_id: uuid.UUID,
    actor: str,
    ref: str,
    changes: dict[str, Any],
    *,
    expected_version: Collection[int] | None = None,
) -> User:
    """Apply ``changes`` (any of name, email, status, image) to a user.

    Values equal to the current ones change nothing and record no change.
    ``expected_version`` lists the versions of which the user must have one.
    """
    reject_unknown_fields("user", changes, USER_FIELDS)
    if "name" in changes:
        check_user_name(changes["name"])
    if "email" in changes:
        check_email(changes["email"], max_length=EMAIL_MAX)
    if "status" in changes:
        check_choice("status", changes["status"], USER_STATUSES)
    if changes.get("image") is not None:
        check_text("image", changes["image"], max_length=IMAGE_MAX)
    org = lock_org(session, org_id)
    user = get_user(session, org_id, ref)
    _check_version("user", user.version, expected_version)

    changed = [k for k, v in changes.items() if getattr(user, k) != v]
    if not changed:
        return user
    if "email" in changed:
        norm = normalize_email(changes["email"])
        clash = session.scalar(
            select(User.id).where(
                User.org_id == org_id, User.email_norm == norm, User.id != user.id
            )
        )
        if clash:
            raise _email_taken(changes["email"])
        user.email = changes["email"]
        user.email_norm = norm
        user.email_domain = email_domain(changes["email"])
    if "name" in changed:
        user.name = changes["name"]
        user.name_fold = fold(changes["name"])
    if "status" in changed:
        user.status = changes["status"]
    if "image" in changed:
        user.image = changes["image"]
    _touch(session, user)
    user.updated_at = utcnow()
    try:
        session.flush()
    except IntegrityError as error:
        raise _email_taken(user.email) from error
    record_change(
        session,
        org,
        type="user.updated",
        resource_type="user",
        resource_id=user.id,
        data={**user_view(user), "changed": sorted(changed)},
        actor=actor,
    )
    return user


def delete_user(
    session: Session,
    org_id: uuid.UUID,
    actor: str,
    ref: str,
    *,
    expected_version: Collection[int] | None = None,
) -> None:
    org = lock_org(session, org_id)
    user = get_user(session, org_id, ref)
    _check_version("user", user.version, expected_version)

    memberships = list(
        session.execute(
            select(Membership.group_id, Membership.role).where(
                Membership.user_id == user.id
            )
        )
    )
    for group_id, role in memberships:
        record_change(
            session,
            org,
            type="membership.removed",
            resource_type="membership",
            resource_id=group_id,
            data={"group_id": str(group_id), "user_id": str(user.id), "role": role},
            actor=actor,
        )
    session.execute(delete(Membership).where(Membership.user_id == user.id))
    group_ids = [group_id for group_id, _role in memberships]
    for group in _load(session, Group, group_ids):
        _touch(session, group)
    _touch_everyone(session, org_id)
    session.delete(user)
    record_change(
        session,
        org,
        type="user.deleted",
        resource_type="user",
        resource_id=user.id,
        data=user_view(user),
        actor=actor,
    )


def _load(
    session: Session, model: type[User] | type[Group], ids: list[uuid.UUID]
) -> list[Any]:
    """Return the rows of ``model`` with these ids, in batches that keep each
    statement's parameter count low."""
    rows: list[Any] = []
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        rows.extend(session.scalars(select(model).where(model.id.in_(batch))))
    return rows


def check_nesting(parent: Group, group: Group | None) -> None:
    """Raise Conflict if either group is a system group, which cannot be nested.

    ``group`` is None for a group being created.
    """
    if parent.system or (group is not None and group.system):
        raise Conflict(
            "system groups cannot be nested or have nested groups",
            code="system_group",
        )


def _check_parent(
    session: Session, org_id: uuid.UUID, group: Group | None, parent_id: Any
) -> uuid.UUID | None:
    """Validate a new parent for ``group`` (None for a group being created)."""
    if parent_id is None:
        return None
    parsed = _parse_uuid(str(parent_id))
    if parsed is None:
        raise InvalidValue(
            "parent_id", f"parent_id must be a group id, got {parent_id!r}"
        )
    parent = session.scalar(
        select(Group).where(Group.org_id == org_id, Group.id == parsed)
    )
    if parent is None:
        raise NotFound(f"parent group {parent_id!r} not found", code="group_not_found")
    check_nesting(parent, group)
    if group is None:
        return parent.id
    # Walk up from the new parent; meeting the group itself means a cycle.
    seen: set[uuid.UUID] = set()
    ancestor: Group | None = parent
    while ancestor is not None and ancestor.id not in seen:
        if ancestor.id == group.id:
            raise Conflict(
                f"group {parent.name!r} is {group.name!r} or nested inside it, so it "
                "cannot be its parent",
                code="group_cycle",
            )
        seen.add(ancestor.id)
        ancestor = (
            session.get(Group, ancestor.parent_id) if ancestor.parent_id else None
        )
    return parent.id


def _group_name_taken(name: str) -> Conflict:
    return Conflict(
        f"a group named {name!r} already exists (names are compared "
        "case-insensitively)",
        code="group_name_taken",
    )


def create_group(
    session: Session,
    org_id: uuid.UUID,
    actor: str,
    *,
    name: Any,
    description: Any = "",
    parent_id: Any = None,
) -> Group:
    name = check_group_name(name)
    description = check_text(
        "description",
        "" if description is None else description,
        max_length=DESCRIPTION_MAX,
        multiline=True,
        allow_empty=True,
    )
    org = lock_org(session, org_id)
    parent = _check_parent(session, org_id, None, parent_id)

    if session.scalar(
        select(Group.id).where(Group.org_id == org_id, Group.name_fold == fold(name))
    ):
        raise _group_name_taken(name)
    group = add_group(
        session, org, actor, name=name, description=description, parent_id=parent
    )
    try:
        session.flush()
    except IntegrityError as error:
        raise _group_name_taken(name) from error
    return group


def add_group(
    session: Session,
    org: Organization,
    actor: str,
    *,
    name: str,
    description: str,
    parent_id: uuid.UUID | None,
) -> Group:
    """Add a group and record its creation, without checks and without flushing.

    The caller has checked the values and the parent (``check_nesting``), locked
    ``org`` with ``lock_org`` and made sure that the name is free.
    """
    now = utcnow()
    group = Group(
        id=uuid.uuid4(),
        org_id=org.id,
        name=name,
        name_fold=fold(name),
        description=description,
        system=False,
        parent_id=parent_id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    _created(session, group)
    record_change(
        session,
        org,
        type="group.created",
        resource_type="group",
        resource_id=group.id,
        data=group_view(group),
        actor=actor,
    )
    return group


def update_group(
    session: Session,
    org_id: uuid.UUID,
    actor: str,
    ref: str,
    changes: dict[str, Any],
    *,
    expected_version: Collection[int] | None = None,
) -> Group:
    reject_unknown_fields("group", changes, GROUP_FIELDS)
    if "name" in changes:
        check_group_name(changes["name"])
    if "description" in changes:
        description = changes["description"]
        changes["description"] = check_text(
            "description",
            "" if description is None else description,
            max_length=DESCRIPTION_MAX,
            multiline=True,
            allow_empty=True,
        )
    org = lock_org(session, org_id)
    group = get_group(session, org_id, ref)
    _check_version("group", group.version, expected_version)

    if "parent_id" in changes:
        changes["parent_id"] = _check_parent(
            session, org_id, group, changes["parent_id"]
        )
    changed = [k for k, v in changes.items() if getattr(group, k) != v]
    if not changed:
        return group
    if group.system and "name" in changed:
        raise Conflict(
            f"{group.name!r} is a system group and cannot be renamed",
            code="system_group",
        )
    if "name" in changed:
        clash = session.scalar(
            select(Group.id).where(
                Group.org_id == org_id,
                Group.name_fold == fold(changes["name"]),
                Group.id != group.id,
            )
        )
        if clash:
            raise _group_name_taken(changes["name"])
        group.name = changes["name"]
        group.name_fold = fold(changes["name"])
    if "description" in changed:
        group.description = changes["description"]
    if "parent_id" in changed:
        group.parent_id = changes["parent_id"]
    _touch(session, group)
    group.updated_at = utcnow()
    session.flush()
    record_change(
        session,
        org,
        type="group.updated",
        resource_type="group",
        resource_id=group.id,
        data={**group_view(group), "changed": sorted(changed)},
        actor=actor,
    )
    return group


def delete_group(
    session: Session,
    org_id: uuid.UUID,
    actor: str,
    ref: str,
    *,
    expected_version: Collection[int] | None = None,
) -> None:
    org = lock_org(session, org_id)
    group = get_group(session, org_id, ref)
    _check_version("group", group.version, expected_version)
    if group.system:
        raise Conflict(
            f"{group.name!r} is a system group and cannot be deleted",
            code="system_group",
        )

    children = list(session.scalars(select(Group).where(Group.parent_id == group.id)))
    now = utcnow()
    for child in children:
        child.parent_id = None
        _touch(session, child)
        child.updated_at = now
        record_change(
            session,
            org,
            type="group.updated",
            resource_type="group",
            resource_id=child.id,
            data={**group_view(child), "changed": ["parent_id"]},
            actor=actor,
        )
    session.flush()
    removed = session.execute(
        delete(Membership)
        .where(Membership.group_id == group.id)
        .returning(Membership.user_id, Membership.role)
    )
    removed_rows = sorted(removed)
    for user in _load(session, User, [user_id for user_id, _role in removed_rows]):
        _touch(session, user)
    for user_id, role in removed_rows:
        record_change(
            session,
            org,
            type="membership.removed",
            resource_type="membership",
            resource_id=group.id,
            data={"group_id": str(group.id), "user_id": str(user_id), "role": role},
            actor=actor,
        )
    session.delete(group)
    record_change(
        session,
        org,
        type="group.deleted",
        resource_type="group",
        resource_id=group.id,
        data=group_view(group),
        actor=actor,
    )


def check_member_group(group: Group) -> None:
    """Raise Conflict for the ``everyone`` group, whose members are implicit."""
    if _is_everyone(group):
        raise Conflict(
            f"every user is a member of {group.name!r}; its members cannot be "
            "added or removed",
            code="system_group",
        )


def set_membership(
    session: Session,
    org_id: uuid.UUID,
    actor: str,
    group_ref: str,
    user_ref: str,
    role: Any = None,
) -> tuple[Membership, bool]:
    """Add a user to a group or change its role; return it and whether it is new.

    Without a ``role``, a new member gets ``member`` and an existing one keeps
    its role.
    """
    if role is not None:
        role = check_choice("role", role, MEMBER_ROLES)
    org = lock_org(session, org_id)
    group = get_group(session, org_id, group_ref)
    check_member_group(group)
    user = get_user(session, org_id, user_ref)

    membership = session.get(Membership, (group.id, user.id))
    if membership is None:
        membership = add_membership(session, org, actor, group, user, role or "member")
        session.flush()
        return membership, True
    if role is not None:
        change_role(session, org, actor, membership, role)
    return membership, False


def add_membership(
    session: Session,
    org: Organization,
    actor: str,
    group: Group,
    user: User,
    role: str,
) -> Membership:
    """Add a membership and record it, without checks and without flushing.

    The caller has checked the role and the group (``check_member_group``), locked
    ``org`` with ``lock_org`` and made sure that the membership does not exist.
    The user's and the group's versions are bumped.
    """
    group_id, user_id = group.id, user.id
    membership = Membership(
        group_id=group_id,
        user_id=user_id,
        org_id=org.id,
        role=role,
        created_at=utcnow(),
    )
    session.add(membership)
    _touch(session, group)
    _touch(session, user)
    record_change(
        session,
        org,
        type="membership.added",
        resource_type="membership",
        resource_id=group_id,
        data={"group_id": str(group_id), "user_id": str(user_id), "role": role},
        actor=actor,
    )
    return membership


def change_role(
    session: Session,
    org: Organization,
    actor: str,
    membership: Membership,
    role: str,
) -> bool:
    """Set a membership's role and record the change; return whether it changed.

    ``org`` must have been locked with ``lock_org`` and ``role`` checked. The
    user's and the group's versions are bumped, as for any membership change.
    """
    if membership.role == role:
        return False
    membership.role = role
    for row in (
        session.get(Group, membership.group_id),
        session.get(User, membership.user_id),
    ):
        if row is not None:
            _touch(session, row)
    record_change(
        session,
        org,
        type="membership.updated",
        resource_type="membership",
        resource_id=membership.group_id,
        data={
            "group_id": str(membership.group_id),
            "user_id": str(membership.user_id),
            "role": role,
        },
        actor=actor,
    )
    return True


def remove_membership(
    session: Session, org_id: uuid.UUID, actor: str, group_ref: str, user_ref: str
) -> None:
    org = lock_org(session, org_id)
    group = get_group(session, org_id, group_ref)
    check_member_group(group)
    user = get_user(session, org_id, user_ref)

    membership = session.get(Membership, (group.id, user.id))
    if membership is None:
        raise NotFound(
            f"user {user_ref!r} is not a member of group {group.name!r}",
            code="membership_not_found",
        )
    data = {"group_id": str(group.id), "user_id": str(user.id), "role": membership.role}
    session.delete(membership)
    _touch(session, group)
    _touch(session, user)
    record_change(
        session,
        org,
        type="membership.removed",
        resource_type="membership",
        resource_id=group.id,
        data=data,
        actor=actor,
    )
