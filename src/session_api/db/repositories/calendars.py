"""Sessions with both people's names, addresses and zones: what invites and e-mails need."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select

from session_api.db.models import coachees, coaches, sessions
from session_api.db.repositories.base import Repository, typed
from session_api.db.repositories.sessions import OPEN, numbered_sessions


@dataclass(frozen=True)
class SessionInvite:
    """A session, numbered, with both people's names, addresses and time zones."""

    id: uuid.UUID
    coachee_id: uuid.UUID
    coachee_coach_id: uuid.UUID
    sequence: int
    status: str
    starts_at: datetime
    ends_at: datetime
    session_number: int | None
    sessions_per_month: int
    note: str | None
    updated_at: datetime
    coach_name: str
    coach_email: str
    coach_timezone: str
    coachee_name: str
    coachee_email: str
    coachee_timezone: str


def _invite_rows() -> Select[*tuple[Any, ...]]:
    return (
        numbered_sessions()
        .add_columns(
            coaches.c.name.label("coach_name"),
            coaches.c.email.label("coach_email"),
            coaches.c.timezone.label("coach_timezone"),
            coachees.c.email.label("coachee_email"),
            coachees.c.timezone.label("coachee_timezone"),
        )
        .join(coaches, coaches.c.id == sessions.c.coach_id)
    )


class CalendarRepository(Repository):
    """Queries for invites, calendar feeds and session e-mails."""

    table = sessions

    async def invites(self, session_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, SessionInvite]:
        """Sessions by id, numbered, with coach and coachee details."""
        if not session_ids:
            return {}
        query = _invite_rows().where(sessions.c.id.in_(session_ids))
        return {row.id: typed(SessionInvite, row) for row in await self._connection.execute(query)}

    async def coach_upcoming(
        self, coach_id: uuid.UUID, *, now: datetime, limit: int
    ) -> list[SessionInvite]:
        """A coach's requested and scheduled sessions that have not ended, by start."""
        query = (
            _invite_rows()
            .where(
                sessions.c.coach_id == coach_id,
                sessions.c.status.in_(OPEN),
                sessions.c.ends_at > now,
            )
            .order_by(sessions.c.starts_at, sessions.c.id)
            .limit(limit)
        )
        return [typed(SessionInvite, row) for row in await self._connection.execute(query)]
