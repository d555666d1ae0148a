"""The change feed: every write to a directory, numbered in commit order.

A writer first locks its organisation's row (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite's write transactions already exclude each other) and then
numbers its changes from the organisation's ``version``. Because the lock is
held until commit, a change with a higher number always commits after every
lower one, so a consumer reading "changes after N" can never see N+2 and later
find that N+1 appeared behind it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from roster.store.errors import NotFound
from roster.store.models import Change, Organization, utcnow

#: Key in ``Session.info`` of the organisations locked in the current transaction.
_LOCKED_ORGS = "roster_locked_orgs"


def lock_org(session: Session, org_id: uuid.UUID) -> Organization:
    """Lock the organisation's row for the rest of the transaction.

    The row is selected once per transaction. Later calls in the same transaction
    return the locked row from the session, whose ``version`` no other writer can
    have changed in between.
    """
    transaction = session.get_transaction()
    locked: tuple[object, dict[uuid.UUID, Organization]] | None = session.info.get(
        _LOCKED_ORGS
    )
    if locked is None or locked[0] is not transaction:
        locked = (transaction, {})
        session.info[_LOCKED_ORGS] = locked
    org = locked[1].get(org_id)
    if org is not None:
        return org

    org = session.scalar(
        select(Organization)
        .where(Organization.id == org_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if org is None:
        raise NotFound(f"organisation {org_id} not found")
    locked[1][org_id] = org
    return org


def record_change(
    session: Session,
    org: Organization,
    *,
    type: str,
    resource_type: str,
    resource_id: uuid.UUID,
    data: dict[str, Any],
    actor: str,
) -> Change:
    """Append a change; ``org`` must have been locked by ``lock_org``."""
    org.version += 1
    change = Change(
        org_id=org.id,
        seq=org.version,
        type=type,
        resource_type=resource_type,
        resource_id=resource_id,
        data=data,
        actor=actor,
        occurred_at=utcnow(),
    )
    session.add(change)
    return change


def list_changes(
    session: Session, org_id: uuid.UUID, *, after: int, limit: int
) -> tuple[list[Change], bool]:
    """Return up to ``limit`` changes with ``seq > after``, oldest first, and
    whether more follow."""
    rows = list(
        session.scalars(
            select(Change)
            .where(Change.org_id == org_id, Change.seq > after)
            .order_by(Change.seq)
            .limit(limit + 1)
        )
    )
    return rows[:limit], len(rows) > limit


def list_audit(
    session: Session, org_id: uuid.UUID, *, limit: int, page: int
) -> tuple[list[Change], int]:
    """Return one page of changes, newest first, and the total count."""
    org = session.get(Organization, org_id)
    total = org.version if org else 0
    # Sequence numbers have no gaps, so page N is a range of seq and needs no
    # OFFSET scan.
    top = total - (page - 1) * limit
    rows = list(
        session.scalars(
            select(Change)
            .where(Change.org_id == org_id, Change.seq <= top)
            .order_by(Change.seq.desc())
            .limit(limit)
        )
    )
    return rows, total
