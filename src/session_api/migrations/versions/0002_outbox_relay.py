"""Outbox relay: events remember when they were fanned out and their feed position.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNDISPATCHED = "dispatched_at IS NULL"


def upgrade() -> None:
    """Apply this revision."""
    # Events written before the relay existed stay undispatched: the first worker run sends them.
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("feed_position", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_events_feed_position"), ["feed_position"])
    op.create_index(
        "ix_events_undispatched",
        "events",
        ["id"],
        unique=False,
        postgresql_where=sa.text(UNDISPATCHED),
        sqlite_where=sa.text(UNDISPATCHED),
    )

    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    # The closest instant older rows know of; only then can the column refuse nulls.
    op.execute("UPDATE deliveries SET created_at = next_attempt_at")
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.alter_column(
            "created_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("deliveries") as batch_op:
        batch_op.drop_column("created_at")
    op.drop_index("ix_events_undispatched", table_name="events")
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_constraint(op.f("uq_events_feed_position"), type_="unique")
        batch_op.drop_column("feed_position")
        batch_op.drop_column("dispatched_at")
