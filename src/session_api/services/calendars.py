"""Calendar files: one session's invite, and a coach's subscription feed."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from session_api.auth import Principal, Role
from session_api.db.repositories.calendars import SessionInvite
from session_api.db.repositories.coaches import StoredCoach
from session_api.db.unit_of_work import UnitOfWork
from session_api.domain.quota import label
from session_api.errors import Forbidden
from session_api.notify.ics import InviteSession, feed_calendar, invite_calendar
from session_api.services import access
from session_api.services.context import Context

# A feed is read by calendar clients every hour; a bound keeps each read cheap.
FEED_LIMIT = 1000
CALENDAR_KEY_BYTES = 32


def invite_session(row: SessionInvite) -> InviteSession:
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


async def session_invite(ctx: Context, principal: Principal, session_id: uuid.UUID) -> bytes:
    """The session's current invite (REQUEST), or its cancellation (CANCEL)."""
    async with ctx.reading() as uow:
        row = (await uow.calendars.invites([session_id])).get(session_id)
    if row is None or not access.may_see(principal, row.coachee_id, row.coachee_coach_id):
        raise access.not_found("session", session_id)
    return invite_calendar(invite_session(row))


async def coach_calendar(
    ctx: Context, principal: Principal | None, coach_id: uuid.UUID, *, key: str | None
) -> bytes:
    """The coach's requested and scheduled sessions that have not ended.

    For the coach or an admin with a token, or for anyone holding the coach's calendar key
    (calendar apps subscribe by URL and send no token).
    """
    async with ctx.reading() as uow:
        if principal is None:
            coach = await uow.coaches.get(coach_id)
            if coach is None or not _key_matches(coach.calendar_key_sha256, key):
                raise access.not_found("coach", coach_id)
        else:
            coach = await _coach_of_own_calendar(uow, principal, coach_id)
        rows = await uow.calendars.coach_upcoming(coach_id, now=ctx.now(), limit=FEED_LIMIT)
    return feed_calendar(coach.name, [invite_session(row) for row in rows])


async def new_calendar_key(ctx: Context, principal: Principal, coach_id: uuid.UUID) -> str:
    """Make a new key for the coach's calendar URL; the previous URL stops working.

    Only its digest is stored, so the key is shown this once and a leaked database reveals no
    calendar.
    """
    key = secrets.token_urlsafe(CALENDAR_KEY_BYTES)
    async with ctx.writing() as uow:
        await _coach_of_own_calendar(uow, principal, coach_id)
        await uow.coaches.set_calendar_key(coach_id, _sha256(key), now=ctx.now())
        await uow.commit()
    return key


async def _coach_of_own_calendar(
    uow: UnitOfWork, principal: Principal, coach_id: uuid.UUID
) -> StoredCoach:
    coach = await access.visible_coach(uow, principal, coach_id)
    if principal.role is Role.COACHEE:
        raise Forbidden("Only the coach or an admin may use the coach's calendar.")
    return coach


def _sha256(key: str) -> str:
    # The key is 256 random bits, so a fast digest is as good as a slow one here.
    return hashlib.sha256(key.encode(errors="surrogatepass")).hexdigest()


def _key_matches(stored_sha256: str | None, given: str | None) -> bool:
    return (
        stored_sha256 is not None
        and given is not None
        and hmac.compare_digest(stored_sha256, _sha256(given))
    )
