"""The tables of Roster's store, as SQLAlchemy 2 declarative models.

Every row of a directory table carries ``org_id`` and every query filters on it,
which is what confines an API key to its own organisation.

Emails, names and sort keys are stored twice: once exactly as given, for display,
and once normalised (``email_norm``, ``name_fold``) for comparison, uniqueness and
ordering. Normalising in Python keeps SQLite and PostgreSQL in agreement, because
SQLite's ``lower()`` and ``LIKE`` fold only ASCII. On PostgreSQL the normalised
columns use the "C" collation so that both databases order them by code point.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Length limits, in characters. The server rejects longer values with a 400.
EMAIL_MAX = 320
NAME_MAX = 256
GROUP_NAME_MAX = 128
DESCRIPTION_MAX = 2000
IMAGE_MAX = 2048
ORG_NAME_MAX = 128
KEY_NAME_MAX = 128

USER_STATUSES = ("active", "invited", "deactivated")
MEMBER_ROLES = ("member", "maintainer")
KEY_ROLES = ("admin", "reader")

#: Names of the groups every organisation starts with.
ADMINS_GROUP = "admins"
EVERYONE_GROUP = "everyone"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite has no timestamp type and drops the offset, so values are normalised to
    UTC on the way in and marked UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)


def sort_key(length: int) -> String:
    """Return a string column type that both databases order by code point."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Base(DeclarativeBase):
    pass


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(ORG_NAME_MAX), unique=True)
    # The sequence number of the organisation's latest change. Writers lock this
    # row and bump it, which numbers changes in commit order and shows readers
    # whether anything changed since a cached page boundary or count.
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(KEY_NAME_MAX))
    role: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the whole key, hex. Keys carry 256 random bits, so a fast hash
    # is enough: there is nothing to brute-force.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (UniqueConstraint("org_id", "name"),)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    email_norm: Mapped[str] = mapped_column(sort_key(EMAIL_MAX))
    email_domain: Mapped[str] = mapped_column(sort_key(EMAIL_MAX))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    name_fold: Mapped[str] = mapped_column(sort_key(NAME_MAX * 3))
    status: Mapped[str] = mapped_column(String(16))
    image: Mapped[str | None] = mapped_column(String(IMAGE_MAX), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("org_id", "email_norm", name="uq_users_org_email"),
        Index("ix_users_org_name", "org_id", "name_fold", "id"),
        Index("ix_users_org_created", "org_id", "created_at", "id"),
        Index("ix_users_org_updated", "org_id", "updated_at", "id"),
        Index("ix_users_org_status_email", "org_id", "status", "email_norm"),
        Index("ix_users_org_domain_email", "org_id", "email_domain", "email_norm"),
    )


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(GROUP_NAME_MAX))
    name_fold: Mapped[str] = mapped_column(sort_key(GROUP_NAME_MAX * 3))
    description: Mapped[str] = mapped_column(Text, default="")
    system: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), nullable=True, index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("org_id", "name_fold", name="uq_groups_org_name"),
        Index("ix_groups_org_created", "org_id", "created_at", "id"),
    )


class Membership(Base):
    __tablename__ = "memberships"

    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Change(Base):
    """One entry of an organisation's change feed, which is also its audit log."""

    __tablename__ = "changes"

    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    resource_type: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(KEY_NAME_MAX))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyRecord(Base):
    """The stored response of a create request that carried an Idempotency-Key."""

    __tablename__ = "idempotency_records"

    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
