"""Sessions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, select, update

from session_api.db.models import sessions
from session_api.db.repositories.base import Repository


class SessionRepository(Repository):
    """Queries of the sessions table."""

    table = sessions

    async def starts_of_coachee(
        self, coachee_id: uuid.UUID
    ) -> Sequence[tuple[uuid.UUID, datetime]]:
        """Every session of a coachee as (id, starts_at), for recomputing months."""
        query = select(sessions.c.id, sessions.c.starts_at).where(
            sessions.c.coachee_id == coachee_id
        )
        return [(row.id, row.starts_at) for row in await self._connection.execute(query)]

    async def set_months(self, months: Iterable[tuple[uuid.UUID, str]]) -> None:
        """Store recomputed months, in one executemany round trip."""
        rows = [{"session_id": id_, "new_month": month} for id_, month in months]
        if not rows:
            return
        query = (
            update(sessions)
            .where(sessions.c.id == bindparam("session_id"))
            .values(month=bindparam("new_month"))
        )
        await self._connection.execute(query, rows)
