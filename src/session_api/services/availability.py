"""A coach's availability: read it, replace it, and list the free slots it leaves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from session_api.auth import Principal, Role
from session_api.domain import booking
from session_api.domain.availability import (
    END_OF_DAY,
    Availability,
    Window,
    availability_from_json,
    free_slots,
    validate_availability,
    window_instants,
)
from session_api.domain.booking import FreeSlot, Ledger
from session_api.domain.months import month_of, months_between
from session_api.domain.quota import MonthUsage, ProgramWindow
from session_api.errors import Forbidden, ValidationProblem
from session_api.services import access
from session_api.services.context import Context

MAX_RANGE_DAYS = 62
DEFAULT_DURATION_MINUTES = 60
# Slots stop a year short of the end of `datetime`, so no slot's instant overflows in any zone.
LAST_SLOT_DAY = date(9998, 12, 31)
_WHOLE_DAY = Window(time(0), END_OF_DAY)
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class FreeSlots:
    """The slots of a range and, for a coachee, the months they can fall in."""

    slots: list[FreeSlot]
    months: list[MonthUsage]


async def get_availability(ctx: Context, principal: Principal, coach_id: uuid.UUID) -> Availability:
    """The coach's availability as stored, for anyone who may see the coach."""
    async with ctx.reading() as uow:
        coach = await access.visible_coach(uow, principal, coach_id)
    return availability_from_json(coach.availability)


async def put_availability(
    ctx: Context, principal: Principal, coach_id: uuid.UUID, availability: Availability
) -> Availability:
    """Replace the coach's availability (the coach or an admin); answers what was stored."""
    async with ctx.writing() as uow:
        await access.visible_coach(uow, principal, coach_id, for_update=True)
        if principal.role is Role.COACHEE:
            raise Forbidden("Only the coach or an admin may change the coach's availability.")
        validate_availability(availability)
        await uow.coaches.set_availability(coach_id, availability)
        await uow.commit()
    return availability


async def list_free_slots(
    ctx: Context,
    principal: Principal,
    coach_id: uuid.UUID,
    *,
    first_day: date,
    last_day: date,
    duration_minutes: int | None,
    step_minutes: int,
    coachee_id: uuid.UUID | None,
) -> FreeSlots:
    """Bookable times of the coach on local days first_day..last_day, after now.

    Two reads: the coach with the coachee and program (for a coachee caller, themself, whose
    coach decides whether they see this one), then the open sessions and the coachee's counts.
    """
    _ensure_range(first_day, last_day)
    now = ctx.now()
    access.refuse_other_coach(principal, coach_id)
    by_coachee = principal.role is Role.COACHEE
    async with ctx.reading() as uow:
        found = await uow.bookings.coach_with_coachee(
            coach_id, principal.person_id() if by_coachee else coachee_id
        )
        person = None if found is None else found.coachee
        callers_coach = person.coach_id if by_coachee and person is not None else None
        coach = access.coach_in_sight(principal, coach_id, found, callers_coach)
        coachee = None
        if coachee_id is not None:
            named = person if person is not None and person.coachee_id == coachee_id else None
            coachee = access.coachee_in_sight(principal, coachee_id, named)
            if coachee.coach_id != coach_id:
                raise access.not_found("coachee", coachee_id)
            booking.ensure_active(coachee.coachee_name, coachee.coachee_status)
        last_day = min(last_day, LAST_SLOT_DAY)
        if last_day < first_day:
            return FreeSlots(slots=[], months=[])
        if duration_minutes is None:
            duration_minutes = (
                coachee.session_minutes if coachee is not None else DEFAULT_DURATION_MINUTES
            )
        duration = timedelta(minutes=duration_minutes)
        zone = ZoneInfo(coach.coach_timezone)
        range_start, range_end = _range_instants(first_day, last_day, zone)
        # Only slots starting after now are offered, so earlier sessions cannot block any; a
        # slot starting on the last day may run on into a touching window of the next, so
        # sessions up to its end can.
        search_start = max(range_start, now)
        months: list[str] = []
        if coachee is not None:
            window = ProgramWindow.from_dates(coachee.starts_on, coachee.ends_on)
            months = _months_of(window, search_start, range_end, ZoneInfo(coachee.coachee_timezone))
        ledger = (
            await uow.sessions.busy_ledger(
                coach_id=coach_id,
                coachee_id=coachee_id,
                starts_at=search_start,
                ends_at=range_end + duration,
                months=months,
            )
            if search_start < range_end
            else Ledger({}, [])
        )
    found_slots = free_slots(
        coach.availability,
        zone,
        first_day,
        last_day,
        duration,
        timedelta(minutes=step_minutes),
        [(busy.starts_at, busy.ends_at) for busy in ledger.open_sessions],
        now + _TICK,
    )
    if coachee is None:
        return FreeSlots(
            slots=[FreeSlot(start, end, None, None) for start, end in found_slots], months=[]
        )
    usage = [ledger.usage(month, coachee.sessions_per_month) for month in months]
    slots = booking.slot_months(
        found_slots,
        coachee_timezone=coachee.coachee_timezone,
        starts_on=coachee.starts_on,
        ends_on=coachee.ends_on,
        usage=usage,
    )
    return FreeSlots(slots=slots, months=usage)


def _ensure_range(first_day: date, last_day: date) -> None:
    if last_day < first_day:
        raise ValidationProblem(
            f"to ({last_day.isoformat()}) lies before from ({first_day.isoformat()})."
        )
    if (last_day - first_day).days > MAX_RANGE_DAYS:
        raise ValidationProblem(
            f"from {first_day.isoformat()} to {last_day.isoformat()} spans "
            f"{(last_day - first_day).days} days; at most {MAX_RANGE_DAYS} days apart are allowed."
        )


def _range_instants(first_day: date, last_day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The first instant of first_day and the first after last_day in `zone`, in UTC."""
    # The same DST reading as the windows': a skipped midnight moves forward, and an
    # ambiguous one starts the range at its earlier and ends it at its later instant.
    first = window_instants(first_day, _WHOLE_DAY, zone)
    last = window_instants(last_day, _WHOLE_DAY, zone)
    # None only for days in year 1, where datetime itself stops (or an empty range).
    start = first[0] if first else _EARLIEST
    return (start, last[1] if last else start)


def _months_of(window: ProgramWindow, start: datetime, end: datetime, zone: ZoneInfo) -> list[str]:
    """The coachee's months that [start, end) touches, within the program's months."""
    if start >= end:
        return []
    first = max(month_of(start, zone), window.first_month or "")
    last = month_of(end - _TICK, zone)
    if window.last_month is not None:
        last = min(last, window.last_month)
    return months_between(first, last)
