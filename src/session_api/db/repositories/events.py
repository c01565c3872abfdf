"""The outbox: events written in the same transaction as the change they report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from session_api.db.models import events
from session_api.db.repositories.base import Repository


class EventRepository(Repository):
    """Queries of the events table."""

    table = events

    async def record_many(self, rows: list[dict[str, Any]]) -> None:
        """Append events (type, session_id, coachee_id, occurred_at, data) in one statement."""
        if rows:
            await self._connection.execute(
                insert(events), [{"event_id": uuid.uuid4(), **row} for row in rows]
            )


def event(
    type_: str,
    *,
    coachee_id: uuid.UUID,
    occurred_at: datetime,
    data: dict[str, Any],
    session_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """One outbox row."""
    return {
        "type": type_,
        "session_id": session_id,
        "coachee_id": coachee_id,
        "occurred_at": occurred_at,
        "data": data,
    }
