"""Reminders: claim, set-based, the ones that have come; the unique key makes each one once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from sqlalchemy import ColumnElement, case, literal, literal_column, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from session_api.db.models import coachees, programs, reminders, sessions
from session_api.db.repositories.base import Repository
from session_api.db.repositories.sessions import OPEN
from session_api.domain.reminders import ReminderOutcome, ReminderWindow

# Written out as literals, not bound: only then does the planner see that the query keeps to
# the rows of the partial index `ix_sessions_open_starts_at`.
_OPEN_SESSION = sessions.c.status.in_([literal_column(f"'{status}'") for status in OPEN])


# (starts_at, session id): where a batch of a pass ends and the next one begins.
ClaimCursor: TypeAlias = tuple[datetime, uuid.UUID]


@dataclass(frozen=True)
class DueReminder:
    """A reminder just claimed for sending, with what its event says about the session."""

    session_id: uuid.UUID
    coachee_id: uuid.UUID
    lead_hours: int
    starts_at: datetime
    ends_at: datetime
    status: str
    month: str


@dataclass(frozen=True)
class ClaimedReminders:
    """One batch: the reminders to send, and how many came too late and were skipped."""

    due: list[DueReminder]
    skipped: int


def _in_window(window: ReminderWindow, after: ClaimCursor | None) -> list[ColumnElement[bool]]:
    """Open sessions whose reminder with this lead time has come, after a cursor."""
    conditions = [
        _OPEN_SESSION,
        sessions.c.starts_at > window.now,
        sessions.c.starts_at <= window.due_until,
    ]
    if after is not None:
        conditions += [
            sessions.c.starts_at >= after[0],
            tuple_(sessions.c.starts_at, sessions.c.id) > after,
        ]
    return conditions


class ReminderRepository(Repository):
    """Queries of the reminders table on behalf of the relay."""

    table = reminders

    async def lead_times(self) -> dict[int, list[uuid.UUID]]:
        """The programs that set each lead time (programs are few; sessions are not)."""
        rows = await self._connection.execute(select(programs.c.id, programs.c.reminder_hours))
        programs_by_hours: dict[int, list[uuid.UUID]] = {}
        for program_id, hours in rows:
            for lead_hours in hours or ():
                programs_by_hours.setdefault(int(lead_hours), []).append(program_id)
        return programs_by_hours

    async def batch_end(
        self, window: ReminderWindow, *, after: ClaimCursor | None, size: int
    ) -> ClaimCursor | None:
        """The last of the next `size` open sessions in the window; None if fewer remain.

        Read from the partial index alone, so each batch of a pass costs its own size,
        however many reminders of the window earlier passes already claimed.
        """
        query = (
            select(sessions.c.starts_at, sessions.c.id)
            .where(*_in_window(window, after))
            .order_by(sessions.c.starts_at, sessions.c.id)
            .offset(size - 1)
            .limit(1)
        )
        row = (await self._connection.execute(query)).one_or_none()
        return None if row is None else (row.starts_at, row.id)

    async def claim(
        self,
        window: ReminderWindow,
        program_ids: Sequence[uuid.UUID],
        *,
        after: ClaimCursor | None,
        through: ClaimCursor | None,
    ) -> ClaimedReminders:
        """Record the reminders of one lead time that have come for a slice of the window.

        One `INSERT … SELECT … ON CONFLICT DO NOTHING` over the open sessions after `after`
        up to `through` (the window's end when None): a reminder another worker claimed
        first (committed, or still in flight: the unique key waits for it) is left out, so
        each one is claimed once. Rows go in (starts_at, id) order, so two workers take their
        row locks in the same order and never deadlock.
        """
        # A scalar subquery, not NOT EXISTS: PostgreSQL would turn NOT EXISTS into an anti
        # join over every reminder of this lead time; this stays one index probe per session.
        recorded = (
            select(reminders.c.id)
            .where(
                reminders.c.session_id == sessions.c.id,
                reminders.c.lead_hours == window.lead_hours,
                reminders.c.starts_at == sessions.c.starts_at,
            )
            .limit(1)
            .scalar_subquery()
        )
        outcome = case(
            (sessions.c.starts_at < window.send_from, literal(str(ReminderOutcome.SKIPPED))),
            else_=literal(str(ReminderOutcome.SENT)),
        )
        come = (
            select(
                sessions.c.id,
                literal(window.lead_hours),
                sessions.c.starts_at,
                outcome,
                literal(window.now, reminders.c.planned_at.type),
            )
            .join(coachees, coachees.c.id == sessions.c.coachee_id)
            .where(
                *_in_window(window, after),
                coachees.c.program_id.in_(program_ids),
                recorded.is_(None),
            )
            .order_by(sessions.c.starts_at, sessions.c.id)
        )
        if through is not None:
            # The plain bound too, so the planner sees how narrow the slice is.
            come = come.where(
                sessions.c.starts_at <= through[0],
                tuple_(sessions.c.starts_at, sessions.c.id) <= through,
            )
        dialect = postgresql if self._connection.dialect.name == "postgresql" else sqlite
        claim = (
            dialect.insert(reminders)
            .from_select(["session_id", "lead_hours", "starts_at", "outcome", "planned_at"], come)
            .on_conflict_do_nothing(index_elements=["session_id", "lead_hours", "starts_at"])
            .returning(reminders.c.session_id, reminders.c.outcome)
        )
        claimed = (await self._connection.execute(claim)).all()
        sent = [row.session_id for row in claimed if row.outcome == ReminderOutcome.SENT]
        return ClaimedReminders(
            due=await self._due(sent, window.lead_hours), skipped=len(claimed) - len(sent)
        )

    async def _due(self, session_ids: Sequence[uuid.UUID], lead_hours: int) -> list[DueReminder]:
        if not session_ids:
            return []
        query = (
            select(
                sessions.c.id,
                sessions.c.coachee_id,
                sessions.c.starts_at,
                sessions.c.ends_at,
                sessions.c.status,
                sessions.c.month,
            )
            .where(sessions.c.id.in_(session_ids))
            .order_by(sessions.c.starts_at, sessions.c.id)
        )
        return [
            DueReminder(
                session_id=row.id,
                coachee_id=row.coachee_id,
                lead_hours=lead_hours,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                status=row.status,
                month=row.month,
            )
            for row in await self._connection.execute(query)
        ]

    async def outcomes(self, session_id: uuid.UUID) -> list[tuple[int, datetime, str]]:
        """A session's reminders that came: (lead hours, start, outcome), oldest first."""
        query = (
            select(reminders.c.lead_hours, reminders.c.starts_at, reminders.c.outcome)
            .where(reminders.c.session_id == session_id)
            .order_by(reminders.c.id)
        )
        return [
            (row.lead_hours, row.starts_at, row.outcome)
            for row in await self._connection.execute(query)
        ]
