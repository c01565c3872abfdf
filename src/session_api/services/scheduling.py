"""Scheduling use cases: book, move, confirm, cancel and close sessions within the allowance.

Each use case is one transaction: it locks the coachee (then the coach) first, so the quota
check, the overlap check and the write can never interleave with another writer's, on SQLite
(`BEGIN IMMEDIATE`) and on PostgreSQL (row locks) alike, across any number of processes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from session_api.auth import Principal, Role
from session_api.db.repositories.base import AnyRow
from session_api.db.repositories.events import event
from session_api.db.unit_of_work import UnitOfWork
from session_api.domain import quota
from session_api.domain.availability import availability_from_json, fits
from session_api.domain.months import add_months, month_of, month_title
from session_api.domain.quota import MonthUsage, SessionAction, SessionStatus
from session_api.errors import (
    CoacheeInactive,
    Forbidden,
    OutsideAvailability,
    OutsideProgram,
    PreconditionFailed,
    TimeConflict,
    ValidationProblem,
)
from session_api.services import access
from session_api.services.access import not_found
from session_api.services.context import Context

BACKFILL_STATUSES = frozenset({SessionStatus.COMPLETED, SessionStatus.NO_SHOW})
_EVENT_OF_STATUS = {
    SessionStatus.SCHEDULED: "session.scheduled",
    SessionStatus.REQUESTED: "session.requested",
    SessionStatus.COMPLETED: "session.completed",
    SessionStatus.NO_SHOW: "session.no_show",
}


@dataclass(frozen=True)
class Placement:
    """Where a session would sit: its instants and its month in the coachee's zone."""

    starts_at: datetime
    ends_at: datetime
    month: str


def etag(version: int) -> str:
    """The ETag of a session version."""
    return f'"v{version}"'


async def get_session(ctx: Context, principal: Principal, session_id: uuid.UUID) -> AnyRow:
    """One session the caller may see, numbered."""
    async with ctx.reading() as uow:
        return await _visible_numbered(uow, principal, session_id)


async def session_history(
    ctx: Context, principal: Principal, session_id: uuid.UUID
) -> list[AnyRow]:
    """A session's changes, oldest first."""
    async with ctx.reading() as uow:
        await _visible_numbered(uow, principal, session_id)
        return list(await uow.sessions.history(session_id))


async def book(
    ctx: Context,
    principal: Principal,
    *,
    coachee_id: uuid.UUID,
    starts_at: datetime,
    duration_minutes: int | None,
    status: SessionStatus,
    override_availability: bool,
    note: str | None,
) -> AnyRow:
    """Schedule or request a session, or (admins) record one from the past."""
    backfill = status in BACKFILL_STATUSES
    if backfill and not principal.is_admin:
        raise Forbidden("Only an admin may record a past session.")
    refuse_coachee_override(principal, override_availability)
    now = ctx.now()
    async with ctx.writing() as uow:
        booking = await uow.bookings.lock(coachee_id)
        if booking is None or not access.may_see(principal, coachee_id, booking.coach_id):
            raise not_found("coachee", coachee_id)
        ensure_active(booking)
        minutes = duration_minutes or booking.session_minutes
        place = placement(booking, starts_at, minutes)
        if backfill:
            if place.ends_at > now:
                raise ValidationProblem(
                    f"A {status} session is recorded from the past; this one ends "
                    f"{place.ends_at.isoformat()}, after now."
                )
        else:
            quota.ensure_future(now, place.starts_at)
        ensure_in_program(booking, place)
        if not backfill:
            ensure_available(booking, place, override_availability)
            await _ensure_no_conflict(
                uow, principal, booking.coach_id, coachee_id, place, excluding=None
            )
        usage = await _ensure_room(uow, booking, place.month, moving_from=None, moving_id=None)

        session_id = uuid.uuid4()
        await uow.sessions.insert(
            new_session_row(session_id, booking, place, status, principal, note, now)
        )
        action = "recorded" if backfill else str(status)
        await uow.sessions.add_history(
            history_entry(
                session_id,
                now,
                principal,
                action,
                before=None,
                after=(place.starts_at, place.ends_at, status),
                message=note,
                override=override_availability,
            )
        )
        outbox = [
            session_event(
                _EVENT_OF_STATUS[status],
                session_id,
                coachee_id,
                now,
                principal,
                place,
                status,
                extra={"backfill": backfill},
            )
        ]
        outbox += became_full(coachee_id, now, usage, added=1)
        await uow.events.record_many(outbox)
        return await _finish(uow, session_id)


async def reschedule(
    ctx: Context,
    principal: Principal,
    session_id: uuid.UUID,
    *,
    starts_at: datetime,
    duration_minutes: int | None,
    override_availability: bool,
    message: str | None,
    if_match: str | None,
) -> AnyRow:
    """Move a session; it leaves its old month and enters the new one in one step."""
    refuse_coachee_override(principal, override_availability)
    now = ctx.now()
    async with ctx.writing() as uow:
        current = await _locked_for_change(uow, principal, session_id, if_match)
        quota.ensure_can("reschedule", SessionStatus(current.status))
        minutes = duration_minutes or int(
            (current.ends_at - current.starts_at) / timedelta(minutes=1)
        )
        place = placement(current, starts_at, minutes)
        quota.ensure_future(now, place.starts_at)
        ensure_in_program(current, place)
        ensure_available(current, place, override_availability)
        await _ensure_no_conflict(
            uow, principal, current.coach_id, current.coachee_id, place, excluding=session_id
        )
        usage = await _ensure_room(
            uow, current, place.month, moving_from=current.month, moving_id=session_id
        )
        status = SessionStatus(current.status)
        # A coach (or admin) moving a requested session has agreed to the new time.
        if status is SessionStatus.REQUESTED and principal.role is not Role.COACHEE:
            status = SessionStatus.SCHEDULED
        await uow.sessions.change_where_version(
            session_id,
            current.version,
            {
                "starts_at": place.starts_at,
                "ends_at": place.ends_at,
                "month": place.month,
                "status": status,
                "sequence": current.sequence + 1,
                "updated_at": now,
            },
        )
        await uow.sessions.add_history(
            history_entry(
                session_id,
                now,
                principal,
                "rescheduled",
                before=moment(current),
                after=(place.starts_at, place.ends_at, status),
                message=message,
                override=override_availability,
            )
        )
        outbox = [
            session_event(
                "session.rescheduled",
                session_id,
                current.coachee_id,
                now,
                principal,
                place,
                status,
                extra={
                    "previous_starts_at": current.starts_at.isoformat(),
                    "previous_ends_at": current.ends_at.isoformat(),
                    "message": message,
                },
            )
        ]
        if place.month != current.month:
            outbox += became_full(current.coachee_id, now, usage, added=1)
            outbox += _got_room(current.coachee_id, now, await _usage(uow, current, current.month))
        await uow.events.record_many(outbox)
        return await _finish(uow, session_id)


async def cancel(
    ctx: Context,
    principal: Principal,
    session_id: uuid.UUID,
    *,
    message: str,
    if_match: str | None,
) -> AnyRow:
    """Cancel a session; within the program's late-cancel window it keeps counting."""
    now = ctx.now()
    async with ctx.writing() as uow:
        current = await _locked_for_change(uow, principal, session_id, if_match)
        quota.ensure_can("cancel", SessionStatus(current.status))
        status = quota.late_cancel_status(now, current.starts_at, current.late_cancel_hours)
        await uow.sessions.change_where_version(
            session_id,
            current.version,
            {
                "status": status,
                "cancelled_by": principal.actor,
                "cancelled_at": now,
                "cancel_message": message,
                "sequence": current.sequence + 1,
                "updated_at": now,
            },
        )
        await uow.sessions.add_history(
            history_entry(
                session_id,
                now,
                principal,
                str(status),
                before=moment(current),
                after=(current.starts_at, current.ends_at, status),
                message=message,
                override=False,
            )
        )
        place = Placement(current.starts_at, current.ends_at, current.month)
        outbox = [
            session_event(
                "session.cancelled",
                session_id,
                current.coachee_id,
                now,
                principal,
                place,
                status,
                extra={"message": message, "late": status is SessionStatus.LATE_CANCELLED},
            )
        ]
        if status is SessionStatus.CANCELLED:
            outbox += _got_room(current.coachee_id, now, await _usage(uow, current, current.month))
        await uow.events.record_many(outbox)
        return await _finish(uow, session_id)


async def confirm(
    ctx: Context,
    principal: Principal,
    session_id: uuid.UUID,
    *,
    override_availability: bool,
    message: str | None,
    if_match: str | None,
) -> AnyRow:
    """A coach (or admin) confirms a requested session: it becomes scheduled."""
    refuse_coachee_override(principal, override_availability)
    now = ctx.now()
    async with ctx.writing() as uow:
        current = await _locked_for_change(uow, principal, session_id, if_match)
        if principal.role is Role.COACHEE:
            raise Forbidden("Only the coach or an admin may confirm a requested session.")
        quota.ensure_can("confirm", SessionStatus(current.status))
        quota.ensure_future(now, current.starts_at)
        place = Placement(current.starts_at, current.ends_at, current.month)
        ensure_available(current, place, override_availability)
        return await _transition(
            uow,
            principal,
            current,
            now,
            SessionStatus.SCHEDULED,
            "confirmed",
            "session.confirmed",
            message=message,
            override=override_availability,
        )


async def mark(
    ctx: Context,
    principal: Principal,
    session_id: uuid.UUID,
    *,
    action: SessionAction,
    message: str | None,
    if_match: str | None,
) -> AnyRow:
    """Mark a session that has started as completed or as a no-show (coach or admin)."""
    now = ctx.now()
    async with ctx.writing() as uow:
        current = await _locked_for_change(uow, principal, session_id, if_match)
        if principal.role is Role.COACHEE:
            raise Forbidden("Only the coach or an admin may mark how a session went.")
        quota.ensure_can(action, SessionStatus(current.status))
        quota.ensure_started(now, current.starts_at, action)
        status = SessionStatus.COMPLETED if action == "complete" else SessionStatus.NO_SHOW
        return await _transition(
            uow,
            principal,
            current,
            now,
            status,
            str(status),
            _EVENT_OF_STATUS[status],
            message=message,
            override=False,
        )


async def _transition(
    uow: UnitOfWork,
    principal: Principal,
    current: AnyRow,
    now: datetime,
    status: SessionStatus,
    action: str,
    event_type: str,
    *,
    message: str | None,
    override: bool,
) -> AnyRow:
    """Change only the status of a session, with its history and event."""
    await uow.sessions.change_where_version(
        current.id, current.version, {"status": status, "updated_at": now}
    )
    await uow.sessions.add_history(
        history_entry(
            current.id,
            now,
            principal,
            action,
            before=moment(current),
            after=(current.starts_at, current.ends_at, status),
            message=message,
            override=override,
        )
    )
    place = Placement(current.starts_at, current.ends_at, current.month)
    await uow.events.record_many(
        [
            session_event(
                event_type,
                current.id,
                current.coachee_id,
                now,
                principal,
                place,
                status,
                extra={"message": message},
            )
        ]
    )
    return await _finish(uow, current.id)


async def _finish(uow: UnitOfWork, session_id: uuid.UUID) -> AnyRow:
    """Read the changed session back and commit, before any answer is built."""
    changed = await uow.sessions.numbered(session_id)
    assert changed is not None
    await uow.commit()
    return changed


async def _visible_numbered(uow: UnitOfWork, principal: Principal, session_id: uuid.UUID) -> AnyRow:
    session = await uow.sessions.numbered(session_id)
    if session is None or not access.may_see(
        principal, session.coachee_id, session.coachee_coach_id
    ):
        raise not_found("session", session_id)
    return session


async def _locked_for_change(
    uow: UnitOfWork, principal: Principal, session_id: uuid.UUID, if_match: str | None
) -> AnyRow:
    current = await uow.sessions.lock_for_change(session_id)
    if current is None or not access.may_see(
        principal, current.coachee_id, current.coachee_coach_id
    ):
        raise not_found("session", session_id)
    if if_match is not None and not _matches(if_match, current.version):
        raise PreconditionFailed(
            f"The session changed since you read it (it is now at version {current.version}); "
            "read it again and retry.",
            current_etag=etag(current.version),
        )
    return current


def _matches(if_match: str, version: int) -> bool:
    wanted = etag(version)
    tags = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    return "*" in tags or wanted in tags


def ensure_active(booking: AnyRow) -> None:
    """Only active coachees get new sessions."""
    if booking.coachee_status != "active":
        raise CoacheeInactive(
            f"{booking.coachee_name} is {booking.coachee_status}; only active coachees "
            "get new sessions.",
            coachee_status=booking.coachee_status,
        )


def refuse_coachee_override(principal: Principal, override_availability: bool) -> None:
    if override_availability and principal.role is Role.COACHEE:
        raise Forbidden("Only the coach or an admin may book outside the coach's availability.")


def placement(booking: AnyRow, starts_at: datetime, minutes: int) -> Placement:
    zone = ZoneInfo(booking.coachee_timezone)
    return Placement(starts_at, starts_at + timedelta(minutes=minutes), month_of(starts_at, zone))


def ensure_in_program(booking: AnyRow, place: Placement) -> None:
    """The session's local dates, in the coachee's zone, lie within the program's dates."""
    zone = ZoneInfo(booking.coachee_timezone)
    first_day = place.starts_at.astimezone(zone).date()
    last_day = (place.ends_at - timedelta(microseconds=1)).astimezone(zone).date()
    if booking.starts_on is not None and first_day < booking.starts_on:
        raise OutsideProgram(
            f"The program starts on {booking.starts_on.isoformat()}; the session would be on "
            f"{first_day.isoformat()}.",
            starts_on=booking.starts_on,
            ends_on=booking.ends_on,
        )
    if booking.ends_on is not None and last_day > booking.ends_on:
        raise OutsideProgram(
            f"The program ends on {booking.ends_on.isoformat()}; the session would be on "
            f"{last_day.isoformat()}.",
            starts_on=booking.starts_on,
            ends_on=booking.ends_on,
        )


def ensure_available(booking: AnyRow, place: Placement, override: bool) -> None:
    """Inside one of the coach's windows, unless the coach or an admin overrides."""
    if override:
        return
    availability = availability_from_json(booking.availability)
    zone = ZoneInfo(booking.coach_timezone)
    if not fits(availability, zone, place.starts_at, place.ends_at):
        local = place.starts_at.astimezone(zone)
        raise OutsideAvailability(
            f"The coach is not available at {local:%A %d %B %Y %H:%M} ({zone.key}) for "
            f"{int((place.ends_at - place.starts_at) / timedelta(minutes=1))} minutes; "
            "see the coach's free slots.",
            coach_timezone=zone.key,
        )


async def _ensure_no_conflict(
    uow: UnitOfWork,
    principal: Principal,
    coach_id: uuid.UUID,
    coachee_id: uuid.UUID,
    place: Placement,
    *,
    excluding: uuid.UUID | None,
) -> None:
    """Nobody is ever in two open sessions at once; no override skips this."""
    other = await uow.sessions.first_conflict(
        coach_id=coach_id,
        coachee_id=coachee_id,
        starts_at=place.starts_at,
        ends_at=place.ends_at,
        excluding=excluding,
    )
    if other is None:
        return
    whose = "the coachee" if other.coachee_id == coachee_id else "the coach"
    span = f"{other.starts_at.isoformat()} to {other.ends_at.isoformat()}"
    # A coachee is not told which other coachee's session blocks their coach.
    if principal.role is Role.COACHEE and other.coachee_id != coachee_id:
        raise TimeConflict(
            f"The coach is already in a session from {span}.",
            conflicting_session={
                "id": None,
                "starts_at": other.starts_at,
                "ends_at": other.ends_at,
            },
        )
    raise TimeConflict(
        f"This overlaps session {other.id} of {whose}, from {span}.",
        conflicting_session={
            "id": other.id,
            "starts_at": other.starts_at,
            "ends_at": other.ends_at,
        },
    )


async def _usage(uow: UnitOfWork, booking: AnyRow, month: str) -> MonthUsage:
    return MonthUsage(
        month=month,
        limit=booking.sessions_per_month,
        counts=await uow.sessions.usage(booking.coachee_id, month),
    )


async def _ensure_room(
    uow: UnitOfWork,
    booking: AnyRow,
    month: str,
    *,
    moving_from: str | None,
    moving_id: uuid.UUID | None,
) -> MonthUsage:
    """Refuse with the facts a person needs when the month is full; return its usage."""
    usage = await _usage(uow, booking, month)
    if moving_from == month or not usage.full:
        return usage
    last_month = None if booking.ends_on is None else booking.ends_on.strftime("%Y-%m")
    later = await uow.sessions.usage_by_month(booking.coachee_id, add_months(month, 1), last_month)
    used_by_month = {m: MonthUsage(m, usage.limit, counts).used for m, counts in later.items()}
    if moving_id is not None and moving_from in used_by_month:
        # The moving session leaves its own month: it must not block a move back there.
        used_by_month[moving_from] -= 1
    quota.ensure_fits(
        month=month,
        usage=usage,
        moving_from_month=moving_from,
        next_available=quota.next_available_month(month, used_by_month, usage.limit, last_month),
        coachee_name=booking.coachee_name,
    )
    return usage


def became_full(
    coachee_id: uuid.UUID, now: datetime, usage: MonthUsage, *, added: int
) -> list[dict[str, Any]]:
    used = usage.used + added
    if usage.used < usage.limit <= used:
        return [_month_event("coachee.month_full", coachee_id, now, usage.month, usage.limit, used)]
    return []


def _got_room(coachee_id: uuid.UUID, now: datetime, usage: MonthUsage) -> list[dict[str, Any]]:
    """`usage` is read after one session left the month: was it full just before?"""
    if usage.used == usage.limit - 1:
        return [
            _month_event(
                "coachee.month_available", coachee_id, now, usage.month, usage.limit, usage.used
            )
        ]
    return []


def _month_event(
    type_: str, coachee_id: uuid.UUID, now: datetime, month: str, limit: int, used: int
) -> dict[str, Any]:
    return event(
        type_,
        coachee_id=coachee_id,
        occurred_at=now,
        data={"month": month, "month_title": month_title(month), "limit": limit, "used": used},
    )


def session_event(
    type_: str,
    session_id: uuid.UUID,
    coachee_id: uuid.UUID,
    now: datetime,
    principal: Principal,
    place: Placement,
    status: SessionStatus,
    *,
    extra: dict[str, Any],
) -> dict[str, Any]:
    return event(
        type_,
        session_id=session_id,
        coachee_id=coachee_id,
        occurred_at=now,
        data={
            "actor": principal.actor,
            "status": str(status),
            "starts_at": place.starts_at.isoformat(),
            "ends_at": place.ends_at.isoformat(),
            "month": place.month,
            **extra,
        },
    )


def new_session_row(
    session_id: uuid.UUID,
    booking: AnyRow,
    place: Placement,
    status: SessionStatus,
    principal: Principal,
    note: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The row of a session being booked for the locked coachee."""
    return {
        "id": session_id,
        "coachee_id": booking.coachee_id,
        "coach_id": booking.coach_id,
        "starts_at": place.starts_at,
        "ends_at": place.ends_at,
        "month": place.month,
        "status": status,
        "created_by": principal.actor,
        "note": note,
        "version": 1,
        "sequence": 0,
        "created_at": now,
        "updated_at": now,
    }


def moment(row: AnyRow) -> tuple[datetime, datetime, SessionStatus]:
    """A stored session's times and status, as history records them."""
    return (row.starts_at, row.ends_at, SessionStatus(row.status))


def history_entry(
    session_id: uuid.UUID,
    now: datetime,
    principal: Principal,
    action: str,
    *,
    before: tuple[datetime, datetime, SessionStatus] | None,
    after: tuple[datetime, datetime, SessionStatus],
    message: str | None,
    override: bool,
) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "at": now,
        "actor": principal.actor,
        "action": action,
        "from_starts_at": before[0] if before else None,
        "from_ends_at": before[1] if before else None,
        "from_status": before[2] if before else None,
        "to_starts_at": after[0],
        "to_ends_at": after[1],
        "to_status": after[2],
        "message": message,
        "override_availability": override,
    }
