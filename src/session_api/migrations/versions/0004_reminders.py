"""Reminders: the program's lead times, one row per reminder that came, a "due now" index.

Revision ID: 0004_reminders
Revises: 0003
Create Date: 2026-12-03 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_reminders"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_SESSION = "status IN ('requested', 'scheduled')"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("programs") as batch_op:
        batch_op.add_column(
            sa.Column("reminder_hours", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
    op.create_table(
        "reminders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("lead_hours", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('sent', 'skipped')", name=op.f("ck_reminders_outcome")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_reminders_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint(
            "session_id",
            "lead_hours",
            "starts_at",
            name=op.f("uq_reminders_session_id_lead_hours_starts_at"),
        ),
    )
    op.create_index(
        "ix_sessions_open_starts_at",
        "sessions",
        ["starts_at", "id"],
        unique=False,
        postgresql_where=sa.text(OPEN_SESSION),
        sqlite_where=sa.text(OPEN_SESSION),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_sessions_open_starts_at", table_name="sessions")
    op.drop_table("reminders")
    with op.batch_alter_table("programs") as batch_op:
        batch_op.drop_column("reminder_hours")
