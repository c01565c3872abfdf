"""Sessions last at most MAX_SESSION_MINUTES, held by the database as well as the domain.

The overlap check scans a person's sessions from `starts_at - MAX_SESSION_MINUTES` on, instead
of every session they ever had: only right if no stored session is longer. Every path that
places a session already caps its length; this CHECK makes it a property of the table, and
adding it fails (naming the constraint) if a longer session is stored.

Revision ID: 0008_session_length
Revises: 0007_calendar_key_sha256
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_session_length"
down_revision: str | None = "0007_calendar_key_sha256"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ck_sessions_length"
# 240 is MAX_SESSION_MINUTES. SQLite keeps instants as text, compared through julianday(), a
# float: its rounding (about a microsecond of a minute) is what the 0.00001 minutes leave.
CHECKS = {
    "postgresql": "ends_at <= starts_at + interval '240 minutes'",
    "sqlite": "(julianday(ends_at) - julianday(starts_at)) * 1440 <= 240.00001",
}


def upgrade() -> None:
    """Apply this revision (SQLite: the table is rebuilt with the CHECK, as ALTER cannot)."""
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.create_check_constraint(op.f(NAME), CHECKS[dialect])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.drop_constraint(op.f(NAME), type_="check")
