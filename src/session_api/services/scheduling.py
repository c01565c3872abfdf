"""Scheduling use cases: book, move, confirm, cancel and close sessions within the allowance.

Each use case is one transaction: it locks the coachee (then the coach) first, so the quota
check, the overlap check and the write can never interleave with another writer's, on SQLite
(`BEGIN IMMEDIATE`) and on PostgreSQL (row locks) alike, across any number of processes.
The rules themselves live in `domain.booking`; here the facts are loaded, the rulebook asked
and its answer saved.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from session_api.auth import Principal, Role
from session_api.db.repositories.sessions import NumberedSession
from session_api.db.unit_of_work import UnitOfWork
from session_api.domain import booking, quota
from session_api.domain.booking import (
    BACKFILL_STATUSES,
    BookingFacts,
    Ledger,
    Placement,
    SessionFacts,
)
from session_api.domain.events import EventType
from session_api.domain.quota import SessionAction, SessionStatus
from session_api.errors import Forbidden
from session_api.services import access, sessions
from session_api.services.access import not_found
from session_api.services.changes import (
    EVENT_OF_STATUS,
    Change,
    Moment,
    MonthShift,
    record_change,
    record_new,
)
from session_api.services.context import Context


@dataclass(frozen=True)
class NewSession:
    """A request to schedule or request a session, or (admins) to record a past one."""

    coachee_id: uuid.UUID
    starts_at: datetime
    duration_minutes: int | None
    status: SessionStatus
    override_availability: bool
    note: str | None


@dataclass(frozen=True)
class Move:
    """A request to move a session."""

    starts_at: datetime
    duration_minutes: int | None
    override_availability: bool
    message: str | None


async def book(ctx: Context, principal: Principal, command: NewSession) -> NumberedSession:
    """Schedule or request a session, or (admins) record one from the past."""
    backfill = command.status in BACKFILL_STATUSES
    if backfill and not principal.is_admin:
        raise Forbidden("Only an admin may record a past session.")
    by_coachee = principal.role is Role.COACHEE
    booking.refuse_coachee_override(
        by_coachee=by_coachee, override_availability=command.override_availability
    )
    now = ctx.now()
    async with ctx.writing() as uow:
        facts = await uow.bookings.lock(command.coachee_id)
        if facts is None or not access.may_see(principal, command.coachee_id, facts.coach_id):
            raise not_found("coachee", command.coachee_id)
        minutes = command.duration_minutes or facts.session_minutes
        wanted = booking.placement(facts, command.starts_at, minutes)
        ledger = await load_ledger(uow, facts, wanted, excluding=None)
        asked = booking.NewBooking(
            status=command.status,
            now=now,
            by_coachee=by_coachee,
            override_availability=command.override_availability,
        )
        place = booking.place_new(facts, command.starts_at, minutes, asked, ledger)
        written = await record_new(
            uow,
            principal,
            now,
            facts,
            [(uuid.uuid4(), place)],
            status=command.status,
            note=command.note,
            override_availability=command.override_availability,
            ledger=ledger,
            action="recorded" if backfill else str(command.status),
            event_data={"backfill": backfill},
        )
        assert written is not None
        return await sessions.commit_written(uow, written, facts, facts.coach_id)


async def reschedule(
    ctx: Context,
    principal: Principal,
    session_id: uuid.UUID,
    command: Move,
    *,
    expected_versions: frozenset[int] | None,
) -> NumberedSession:
    """Move a session; it leaves its old month and enters the new one in one step."""
    by_coachee = principal.role is Role.COACHEE
    booking.refuse_coachee_override(
        by_coachee=by_coachee, override_availability=command.override_availability
    )
    now = ctx.now()
    async with ctx.writing() as uow:
        current = await sessions.locked_for_change(uow, principal, session_id, expected_versions)
        facts = current.booking
        wanted = booking.placement(
            facts, command.starts_at, command.duration_minutes or current.minutes
        )
        ledger = await load_ledger(uow, facts, wanted, excluding=current)
        place = booking.place_move(
            current,
            command.starts_at,
            command.duration_minutes,
            now=now,
            by_coachee=by_coachee,
            override_availability=command.override_availability,
            ledger=ledger,
        )
        if place is None:
            # Nothing moves: no write, no history, no event, no e-mail.
            return await sessions.finish(uow, session_id)
        status = booking.moved_status(current, by_coachee=by_coachee)
        shifts = []
        if place.month != current.month:
            limit = facts.sessions_per_month
            entered = ledger.usage(place.month, limit).used
            left = ledger.usage(current.month, limit).used
            shifts = [
                MonthShift(facts.coachee_id, place.month, limit, entered, entered + 1),
                MonthShift(facts.coachee_id, current.month, limit, left, left - 1),
            ]
        written = await record_change(
            uow,
            principal,
            now,
            Change(
                session_id,
                facts.coachee_id,
                "rescheduled",
                before=Moment.of(current),
                after=Moment(place, status),
                event_type=EventType.SESSION_RESCHEDULED,
                message=command.message,
                override_availability=command.override_availability,
                event_data={
                    "previous_starts_at": current.starts_at.isoformat(),
                    "previous_ends_at": current.ends_at.isoformat(),
                    "message": command.message,
                },
            ),
            version=current.version,
            values={
                "starts_at": place.starts_at,
                "ends_at": place.ends_at,
                "month": place.month,
                "status": status,
                "sequence": current.sequence + 1,
                "updated_at": now,
            },
            shifts=shifts,
        )
        return await sessions.commit_written(uow, written, facts, current.coachee_coach_id)


async def cancel(
    ctx: Context,
    principal: Principal,
    session_id: uuid.UUID,
    *,
    message: str,
    expected_versions: frozenset[int] | None,
) -> NumberedSession:
    """Cancel a session; a coachee's cancel within the late-cancel window keeps counting."""
    now = ctx.now()
    async with ctx.writing() as uow:
        current = await sessions.locked_for_change(uow, principal, session_id, expected_versions)
        status = booking.cancel_status(current, now=now, by_coachee=principal.role is Role.COACHEE)
        shifts = []
        if status is SessionStatus.CANCELLED:
            # Counted before the write, while the session still takes its place.
            facts = current.booking
            limit = facts.sessions_per_month
            counts = await uow.sessions.usage(facts.coachee_id, current.month)
            used = quota.MonthUsage(current.month, limit, counts).used
            shifts = [MonthShift(facts.coachee_id, current.month, limit, used, used - 1)]
        written = await record_change(
            uow,
            principal,
            now,
            Change(
                session_id,
                current.booking.coachee_id,
                str(status),
                before=Moment.of(current),
                after=Moment(_place_of(current), status),
                event_type=EventType.SESSION_CANCELLED,
                message=message,
                event_data={
                    "message": message,
                    "late": status is SessionStatus.LATE_CANCELLED,
                },
            ),
            version=current.version,
            values={
                "status": status,
                "cancelled_by": principal.actor,
                "cancelled_at": now,
                "cancel_message": message,
                "sequence": current.sequence + 1,
                "updated_at": now,
            },
            shifts=shifts,
        )
        return await sessions.commit_written(
            uow, written, current.booking, current.coachee_coach_id
        )


async def confirm(
    ctx: Context,
    principal: Principal,
    session_id: uuid.UUID,
    *,
    message: str | None,
    expected_versions: frozenset[int] | None,
) -> NumberedSession:
    """A coach (or admin) confirms a requested session: it becomes scheduled."""
    now = ctx.now()
    async with ctx.writing() as uow:
        current = await sessions.locked_for_change(uow, principal, session_id, expected_versions)
        if principal.role is Role.COACHEE:
            raise Forbidden("Only the coach or an admin may confirm a requested session.")
        ledger = await load_ledger(
            uow, current.booking, _place_of(current), excluding=current, with_counts=False
        )
        booking.ensure_confirmable(current, now=now, ledger=ledger)
        return await _transition(
            uow,
            principal,
            current,
            now,
            SessionStatus.SCHEDULED,
            "confirmed",
            EventType.SESSION_CONFIRMED,
            message=message,
        )


async def mark(
    ctx: Context,
    principal: Principal,
    session_id: uuid.UUID,
    *,
    action: SessionAction,
    message: str | None,
    expected_versions: frozenset[int] | None,
) -> NumberedSession:
    """Mark a session that has started as completed or as a no-show (coach or admin)."""
    now = ctx.now()
    async with ctx.writing() as uow:
        current = await sessions.locked_for_change(uow, principal, session_id, expected_versions)
        if principal.role is Role.COACHEE:
            raise Forbidden("Only the coach or an admin may mark how a session went.")
        quota.ensure_can(action, current.status)
        quota.ensure_started(now, current.starts_at, action)
        status = SessionStatus.COMPLETED if action == "complete" else SessionStatus.NO_SHOW
        return await _transition(
            uow,
            principal,
            current,
            now,
            status,
            str(status),
            EVENT_OF_STATUS[status],
            message=message,
        )


async def load_ledger(
    uow: UnitOfWork,
    facts: BookingFacts,
    place: Placement,
    *,
    excluding: SessionFacts | None,
    with_counts: bool = True,
) -> Ledger:
    """The open session that would block `place` (if any) and the coachee's months from it on.

    A moved session's own month is counted too, as it leaves that month; `with_counts=False`
    loads only the blocking session.
    """
    excluding_id = None if excluding is None else excluding.id
    if not with_counts:
        blocking = await uow.sessions.first_conflict(
            coach_id=facts.coach_id,
            coachee_id=facts.coachee_id,
            starts_at=place.starts_at,
            ends_at=place.ends_at,
            excluding=excluding_id,
        )
        return Ledger({}, [] if blocking is None else [blocking])
    return await uow.sessions.ledger(
        coach_id=facts.coach_id,
        coachee_id=facts.coachee_id,
        starts_at=place.starts_at,
        ends_at=place.ends_at,
        first_month=place.month if excluding is None else min(place.month, excluding.month),
        last_month=facts.last_month,
        excluding=excluding_id,
    )


async def _transition(
    uow: UnitOfWork,
    principal: Principal,
    current: SessionFacts,
    now: datetime,
    status: SessionStatus,
    action: str,
    event_type: EventType,
    *,
    message: str | None,
) -> NumberedSession:
    """Change only the status of a session, with its history and event."""
    written = await record_change(
        uow,
        principal,
        now,
        Change(
            current.id,
            current.booking.coachee_id,
            action,
            before=Moment.of(current),
            after=Moment(_place_of(current), status),
            event_type=event_type,
            message=message,
            event_data={"message": message},
        ),
        version=current.version,
        values={"status": status, "updated_at": now},
    )
    return await sessions.commit_written(uow, written, current.booking, current.coachee_coach_id)


def _place_of(session: SessionFacts) -> Placement:
    return Placement(session.starts_at, session.ends_at, session.month)
