"""The coach's views: next, every future and unmarked sessions, coachees with nothing ahead."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, tuple_

from session_api.db.models import coachees, programs, sessions
from session_api.db.repositories.base import AnyRow, Repository
from session_api.db.repositories.sessions import OPEN, numbered_sessions
from session_api.domain.quota import SessionStatus

# The sessions a coachee has ahead, looked at from a query over coachees; served by the
# (coachee_id, starts_at) index.
_ahead = sessions.alias("ahead")


@dataclass(frozen=True)
class FutureSessions:
    """Which sessions a page lists, seen at `now`; every set field narrows it.

    `statuses` applies to the sessions ahead; the unmarked view lists scheduled ones only.
    """

    now: datetime
    statuses: Sequence[str] = tuple(OPEN)
    coach_id: uuid.UUID | None = None
    coachee_id: uuid.UUID | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    # Visibility: only the sessions of this coach's coachees.
    coachees_of: uuid.UUID | None = None


def _open_ahead_of_coachee(now: datetime) -> ColumnElement[bool]:
    return (
        (_ahead.c.coachee_id == coachees.c.id)
        & _ahead.c.status.in_(OPEN)
        & (_ahead.c.starts_at > now)
    )


class ViewRepository(Repository):
    """Read-only queries behind the dashboard views; each answers in one statement."""

    table = sessions

    async def next_sessions(
        self, *, coach_id: uuid.UUID, now: datetime, coachee_id: uuid.UUID | None = None
    ) -> Sequence[AnyRow]:
        """Each active coachee's earliest open session after `now`, numbered, by start."""
        # One index probe per coachee (a portable stand-in for LATERAL ... LIMIT 1): the cost
        # follows the number of coachees, not the number of sessions they have ahead.
        earliest = (
            select(_ahead.c.id)
            .where(_open_ahead_of_coachee(now))
            .order_by(_ahead.c.starts_at, _ahead.c.id)
            .limit(1)
            .correlate(coachees)
            .scalar_subquery()
        )
        firsts = select(earliest.label("session_id")).where(
            coachees.c.coach_id == coach_id, coachees.c.status == "active"
        )
        if coachee_id is not None:
            firsts = firsts.where(coachees.c.id == coachee_id)
        first_sessions = firsts.subquery("first_sessions")
        query = (
            numbered_sessions()
            .join(first_sessions, first_sessions.c.session_id == sessions.c.id)
            .order_by(sessions.c.starts_at, sessions.c.id)
        )
        return (await self._connection.execute(query)).all()

    async def future_sessions(
        self, where: FutureSessions, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> Sequence[AnyRow]:
        """Up to `limit + 1` numbered sessions by (starts_at, id) after a position."""
        query = numbered_sessions().where(
            sessions.c.status.in_(where.statuses), sessions.c.starts_at > where.now
        )
        return await self._session_page(query, where, after=after, limit=limit)

    async def unmarked_sessions(
        self, where: FutureSessions, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> Sequence[AnyRow]:
        """Up to `limit + 1` scheduled sessions that ended by `now`, oldest first."""
        # Served by the partial index of scheduled sessions: marked history is never walked.
        query = numbered_sessions().where(
            sessions.c.status == SessionStatus.SCHEDULED.value, sessions.c.ends_at <= where.now
        )
        return await self._session_page(query, where, after=after, limit=limit)

    async def _session_page(
        self,
        query: Select[*tuple[Any, ...]],
        where: FutureSessions,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[AnyRow]:
        query = query.order_by(sessions.c.starts_at, sessions.c.id).limit(limit + 1)
        if where.coach_id is not None:
            query = query.where(sessions.c.coach_id == where.coach_id)
        if where.coachee_id is not None:
            query = query.where(sessions.c.coachee_id == where.coachee_id)
        if where.coachees_of is not None:
            query = query.where(coachees.c.coach_id == where.coachees_of)
        if where.starts_from is not None:
            query = query.where(sessions.c.starts_at >= where.starts_from)
        if where.starts_before is not None:
            query = query.where(sessions.c.starts_at < where.starts_before)
        if after is not None:
            query = query.where(tuple_(sessions.c.starts_at, sessions.c.id) > after)
        return (await self._connection.execute(query)).all()

    async def unscheduled_coachees(
        self,
        *,
        coach_id: uuid.UUID,
        now: datetime,
        coachee_id: uuid.UUID | None = None,
        after: tuple[str, uuid.UUID] | None,
        limit: int,
    ) -> Sequence[AnyRow]:
        """Up to `limit + 1` active coachees with no open session after `now`, by (name, id)."""
        nothing_ahead = ~select(_ahead.c.id).where(_open_ahead_of_coachee(now)).exists()
        query = (
            select(
                *coachees.c,
                programs.c.sessions_per_month,
                programs.c.starts_on.label("program_starts_on"),
                programs.c.ends_on.label("program_ends_on"),
            )
            .join(programs, programs.c.id == coachees.c.program_id)
            .where(coachees.c.coach_id == coach_id, coachees.c.status == "active", nothing_ahead)
            .order_by(coachees.c.name, coachees.c.id)
            .limit(limit + 1)
        )
        if coachee_id is not None:
            query = query.where(coachees.c.id == coachee_id)
        if after is not None:
            query = query.where(tuple_(coachees.c.name, coachees.c.id) > after)
        return (await self._connection.execute(query)).all()
