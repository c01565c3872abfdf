"""Usage report and unmarked view: coachees in name order, scheduled sessions by start.

Revision ID: 0005_usage
Revises: 0004_reminders
Create Date: 2026-12-03 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_usage"
down_revision: str | None = "0004_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEDULED = "status = 'scheduled'"


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_coachees_name_id", "coachees", ["name", "id"], unique=False)
    op.create_index(
        "ix_coachees_coach_id_name_id", "coachees", ["coach_id", "name", "id"], unique=False
    )
    for name, columns in (
        ("ix_sessions_scheduled_coach_id_starts_at_id", ["coach_id", "starts_at", "id"]),
        ("ix_sessions_scheduled_starts_at_id", ["starts_at", "id"]),
    ):
        op.create_index(
            name,
            "sessions",
            columns,
            unique=False,
            postgresql_where=sa.text(SCHEDULED),
            sqlite_where=sa.text(SCHEDULED),
        )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_sessions_scheduled_starts_at_id", table_name="sessions")
    op.drop_index("ix_sessions_scheduled_coach_id_starts_at_id", table_name="sessions")
    op.drop_index("ix_coachees_coach_id_name_id", table_name="coachees")
    op.drop_index("ix_coachees_name_id", table_name="coachees")
