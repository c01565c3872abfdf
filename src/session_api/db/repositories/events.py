"""The outbox: events written in the same transaction as the change they report."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from session_api.db.models import events
from session_api.db.repositories.base import Repository


@dataclass(frozen=True)
class NewEvent:
    """One event to append to the outbox; its public event id is drawn when it is written."""

    type: str
    coachee_id: uuid.UUID
    occurred_at: datetime
    data: dict[str, Any]
    session_id: uuid.UUID | None = None


# The columns `event_values` fills.
EVENT_COLUMNS = ("event_id", "type", "coachee_id", "occurred_at", "data", "session_id")


def event_values(row: NewEvent) -> dict[str, Any]:
    """The columns of one outbox row; its public event id is drawn here."""
    # Not `asdict`: it would deep-copy the data on every write.
    return {
        "event_id": uuid.uuid4(),
        "type": row.type,
        "coachee_id": row.coachee_id,
        "occurred_at": row.occurred_at,
        "data": row.data,
        "session_id": row.session_id,
    }


class EventRepository(Repository):
    """Queries of the events table."""

    table = events

    async def record_many(self, rows: Sequence[NewEvent]) -> None:
        """Append events in one statement."""
        if rows:
            await self._connection.execute(insert(events), [event_values(row) for row in rows])
