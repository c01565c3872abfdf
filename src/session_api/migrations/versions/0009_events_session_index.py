"""Events lose their index on session_id: no query reads it, and every write paid for it.

Nothing looks events up by session: the relay joins pending events to their sessions by the
sessions' primary key, the feed pages by `feed_position`. On an outbox of a million events
the index cost each event insert (every schedule, reschedule and cancel writes one or more)
about 35 us of PostgreSQL's CPU and, after a checkpoint, a full-page image of WAL, since
session ids are random and land on a new leaf page nearly every time.

Revision ID: 0009_events_session_index
Revises: 0008_session_length
Create Date: 2026-12-03 12:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_events_session_index"
down_revision: str | None = "0008_session_length"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.drop_index(op.f("ix_events_session_id"), table_name="events")


def downgrade() -> None:
    """Revert this revision."""
    op.create_index(op.f("ix_events_session_id"), "events", ["session_id"], unique=False)
