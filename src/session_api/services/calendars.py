"""Calendar files: one session's invite, and a coach's subscription feed."""

from __future__ import annotations

import uuid

from session_api.auth import Principal, Role
from session_api.db.repositories.base import AnyRow
from session_api.domain.quota import label
from session_api.errors import Forbidden
from session_api.notify.ics import InviteSession, feed_calendar, invite_calendar
from session_api.services import access
from session_api.services.context import Context

# A feed is read by calendar clients every hour; a bound keeps each read cheap.
FEED_LIMIT = 1000


def invite_session(row: AnyRow) -> InviteSession:
    """What an invite or an e-mail shows of a session row of `CalendarRepository`."""
    number = row.session_number
    return InviteSession(
        session_id=row.id,
        sequence=row.sequence,
        status=row.status,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        label=None if number is None else label(number, row.sessions_per_month),
        note=row.note,
        coach_name=row.coach_name,
        coach_email=row.coach_email,
        coachee_name=row.coachee_name,
        coachee_email=row.coachee_email,
        updated_at=row.updated_at,
    )


def may_see_session(principal: Principal, row: AnyRow) -> bool:
    """Admins see every session, a coach those of their coachees, a coachee their own."""
    if principal.role is Role.COACH:
        return bool(principal.person_id() == row.coachee_coach_id)
    if principal.role is Role.COACHEE:
        return bool(principal.person_id() == row.coachee_id)
    return True


async def session_invite(ctx: Context, principal: Principal, session_id: uuid.UUID) -> bytes:
    """The session's current invite (REQUEST), or its cancellation (CANCEL)."""
    async with ctx.reading() as uow:
        row = (await uow.calendars.invites([session_id])).get(session_id)
    if row is None or not may_see_session(principal, row):
        raise access.not_found("session", session_id)
    return invite_calendar(invite_session(row))


async def coach_calendar(ctx: Context, principal: Principal, coach_id: uuid.UUID) -> bytes:
    """The coach's requested and scheduled sessions that have not ended (coach or admin)."""
    async with ctx.reading() as uow:
        coach = await access.visible_coach(uow, principal, coach_id)
        if principal.role is Role.COACHEE:
            raise Forbidden("Only the coach or an admin may read the coach's calendar.")
        rows = await uow.calendars.coach_upcoming(coach_id, now=ctx.now(), limit=FEED_LIMIT)
    return feed_calendar(coach.name, [invite_session(row) for row in rows])
