"""normalise the comparison forms of emails

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10 10:00:00.000000

``email_norm`` and ``email_domain`` were the email in lower case. They are now
the normalised address that email-validator returns (Unicode NFC, the domain in
its Unicode IDNA form) in lower case, so that other spellings of one address
compare equal. This revision recomputes them for existing users. Two users of
one organisation whose emails become equal stop the upgrade with a message that
names both, because the unique constraint on ``email_norm`` would reject them.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from roster.store.validation import email_domain, normalize_email

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_users = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("org_id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("email_norm", sa.String()),
    sa.column("email_domain", sa.String()),
)


def upgrade() -> None:
    # NOTE: this uses the application's normalize_email, so a later change to
    # that function changes what this revision writes.
    first_email: dict[tuple[object, str], str] = {}

    def new_forms(org_id: object, email: str) -> tuple[str, str]:
        norm = normalize_email(email)
        clash = first_email.setdefault((org_id, norm), email)
        if clash != email:
            raise RuntimeError(
                f"users {clash!r} and {email!r} of organisation {org_id} have "
                "the same normalised email; change or delete one of them with "
                "the previous version of Roster, then upgrade again"
            )
        return norm, email_domain(email)

    _rewrite(new_forms)


def downgrade() -> None:
    def old_forms(_org_id: object, email: str) -> tuple[str, str]:
        return email.lower(), email.lower().rpartition("@")[2]

    _rewrite(old_forms)


def _rewrite(forms: Callable[[object, str], tuple[str, str]]) -> None:
    """Set each user's ``(email_norm, email_domain)`` to ``forms(org_id, email)``."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            _users.c.id,
            _users.c.org_id,
            _users.c.email,
            _users.c.email_norm,
            _users.c.email_domain,
        )
    ).all()
    updates = []
    for user_id, org_id, email, norm, domain in rows:
        new_norm, new_domain = forms(org_id, email)
        if (new_norm, new_domain) != (norm, domain):
            updates.append({"user_id": user_id, "norm": new_norm, "dom": new_domain})
    if updates:
        connection.execute(
            _users.update()
            .where(_users.c.id == sa.bindparam("user_id"))
            .values(email_norm=sa.bindparam("norm"), email_domain=sa.bindparam("dom")),
            updates,
        )
