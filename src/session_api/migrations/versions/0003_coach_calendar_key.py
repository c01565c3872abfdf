"""Coach calendar key: a secret for the calendar subscription URL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 22:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("coaches", sa.Column("calendar_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("coaches") as batch_op:
        batch_op.drop_column("calendar_key")
