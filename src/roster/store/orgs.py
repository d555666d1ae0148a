"""Organisations and their API keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from roster.store.errors import Conflict, NotFound
from roster.store.models import (
    ADMINS_GROUP,
    EVERYONE_GROUP,
    KEY_NAME_MAX,
    KEY_ROLES,
    ORG_NAME_MAX,
    ApiKey,
    Group,
    Organization,
    utcnow,
)
from roster.store.validation import check_choice, check_text, fold

#: Every API key starts with this, which lets secret scanners recognise one.
KEY_PREFIX = "rst_"

SYSTEM_GROUPS = {
    ADMINS_GROUP: "Administrators of the organisation",
    EVERYONE_GROUP: "Every user of the organisation",
}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_org(session: Session, name: str) -> Organization:
    """Create an organisation with its system groups."""
    check_text("name", name, max_length=ORG_NAME_MAX)
    if session.scalar(select(Organization).where(Organization.name == name)):
        raise Conflict(f"organisation {name!r} already exists", code="org_exists")

    org = Organization(name=name, version=0)
    session.add(org)
    session.flush()
    now = utcnow()
    for group_name, description in SYSTEM_GROUPS.items():
        session.add(
            Group(
                org_id=org.id,
                name=group_name,
                name_fold=fold(group_name),
                description=description,
                system=True,
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    return org


def get_org(session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        raise NotFound(
            f"organisation {name!r} not found; create it with `roster orgs create`"
        )
    return org


def list_orgs(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.name)))


@dataclass
class NewKey:
    record: ApiKey
    secret: str


def create_key(
    session: Session, org: Organization, name: str, role: str = "admin"
) -> NewKey:
    """Create an API key. The secret is returned here once and stored only hashed."""
    check_text("name", name, max_length=KEY_NAME_MAX)
    check_choice("role", role, KEY_ROLES)
    # Read before the insert: after a failed flush the session cannot load
    # attributes, and revoked keys keep their names too.
    org_name = org.name
    taken = Conflict(
        f"organisation {org_name!r} already has a key named {name!r} (revoked "
        "keys keep their names); choose another name",
        code="key_exists",
    )
    if session.scalar(
        select(ApiKey.id).where(ApiKey.org_id == org.id, ApiKey.name == name)
    ):
        raise taken
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        org_id=org.id,
        name=name,
        role=role,
        key_hash=hash_key(secret),
        prefix=secret[:10],
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError as error:
        raise taken from error
    return NewKey(record=record, secret=secret)


def find_key(session: Session, secret: str) -> tuple[ApiKey, Organization] | None:
    """Return the live key with this secret and its organisation, or None."""
    row = session.execute(
        select(ApiKey, Organization)
        .join(Organization, Organization.id == ApiKey.org_id)
        .where(ApiKey.key_hash == hash_key(secret), ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return row[0], row[1]


def list_keys(session: Session, org: Organization) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey).where(ApiKey.org_id == org.id).order_by(ApiKey.name)
        )
    )


def revoke_key(session: Session, org: Organization, name: str) -> ApiKey:
    key = session.scalar(
        select(ApiKey).where(ApiKey.org_id == org.id, ApiKey.name == name)
    )
    if key is None:
        raise NotFound(f"organisation {org.name!r} has no key named {name!r}")
    key.revoked_at = key.revoked_at or utcnow()
    return key
