"""Calendar keys at rest as SHA-256 digests: a leaked database opens no coach's calendar.

Revision ID: 0007_calendar_key_sha256
Revises: 0006_webhooks
Create Date: 2026-12-03 07:30:00
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_calendar_key_sha256"
down_revision: str | None = "0006_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_coaches = sa.table(
    "coaches",
    sa.column("id", sa.Uuid()),
    sa.column("calendar_key", sa.String(64)),
    sa.column("calendar_key_sha256", sa.String(64)),
)


def upgrade() -> None:
    """Apply this revision: existing keys keep working, only their digests stay."""
    with op.batch_alter_table("coaches") as batch_op:
        batch_op.add_column(sa.Column("calendar_key_sha256", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    keyed = connection.execute(
        sa.select(_coaches.c.id, _coaches.c.calendar_key).where(
            _coaches.c.calendar_key.is_not(None)
        )
    ).all()
    for coach_id, key in keyed:
        connection.execute(
            sa.update(_coaches)
            .where(_coaches.c.id == coach_id)
            .values(calendar_key_sha256=hashlib.sha256(key.encode()).hexdigest())
        )
    with op.batch_alter_table("coaches") as batch_op:
        batch_op.drop_column("calendar_key")


def downgrade() -> None:
    """Revert this revision; a digest cannot be turned back, so every calendar URL stops working."""
    with op.batch_alter_table("coaches") as batch_op:
        batch_op.add_column(sa.Column("calendar_key", sa.String(length=64), nullable=True))
        batch_op.drop_column("calendar_key_sha256")
