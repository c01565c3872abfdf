"""Planning several sessions for one coachee at once: all or nothing, or a dry-run plan.

Each occurrence is checked like a single booking, counting the batch's own earlier
occurrences: a third weekly session in a 2-a-month month fails, and so does one overlapping
an earlier occurrence. Everything is read in a constant number of statements, whatever the
number of occurrences, and written in one round trip per table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from session_api.auth import Principal
from session_api.db.repositories.base import AnyRow
from session_api.db.unit_of_work import UnitOfWork
from session_api.domain import quota
from session_api.domain.months import month_title
from session_api.domain.quota import COUNTING_STATUSES, MonthUsage, SessionStatus
from session_api.errors import (
    DomainError,
    MonthlyLimitReached,
    TimeConflict,
    ValidationProblem,
)
from session_api.services import access, scheduling
from session_api.services.access import not_found
from session_api.services.context import Context

MAX_OCCURRENCES = 24


@dataclass(frozen=True)
class Occurrence:
    """One planned session and whether it can be booked."""

    starts_at: datetime | None
    month: str | None
    session_number: int | None
    label: str | None
    ok: bool
    code: str | None
    detail: str | None


@dataclass(frozen=True)
class Plan:
    """The checked occurrences, and the sessions created when it was carried out."""

    occurrences: list[Occurrence]
    problems: list[DomainError | None]
    created: list[AnyRow]

    @property
    def ok(self) -> bool:
        """Whether every occurrence can be booked."""
        return all(occurrence.ok for occurrence in self.occurrences)


def weekly_starts(
    first_starts_at: datetime, every_weeks: int, count: int, zone: ZoneInfo
) -> list[datetime | str]:
    """The same local wall-clock time every few weeks, or why a date has no such time.

    A local time skipped by a clock change cannot be booked and is reported, never moved;
    a repeated one takes its first occurrence (the earlier instant), like a person would.
    """
    local = first_starts_at.astimezone(zone)
    wall_clock = local.time().replace(tzinfo=None, fold=0)
    starts: list[datetime | str] = []
    for k in range(count):
        day = local.date() + timedelta(weeks=every_weeks * k)
        starts.append(_local_instant(day, wall_clock, zone))
    return starts


def _local_instant(day: date, wall_clock: time, zone: ZoneInfo) -> datetime | str:
    candidate = datetime.combine(day, wall_clock, tzinfo=zone)
    round_trip = candidate.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != candidate.replace(tzinfo=None):
        return (
            f"{wall_clock:%H:%M} does not exist on {day.isoformat()} in {zone.key} "
            "(the clocks skip it); choose another time for that week."
        )
    return candidate.astimezone(UTC)


async def plan(
    ctx: Context,
    principal: Principal,
    *,
    coachee_id: uuid.UUID,
    starts: Sequence[datetime] | None,
    recurrence: tuple[datetime, int, int] | None,
    duration_minutes: int | None,
    status: SessionStatus,
    override_availability: bool,
    note: str | None,
    dry_run: bool,
) -> Plan:
    """Check every occurrence; unless it is a dry run, book them all or raise BatchRefused."""
    scheduling.refuse_coachee_override(principal, override_availability)
    now = ctx.now()
    unit = ctx.reading() if dry_run else ctx.writing()
    async with unit as uow:
        booking = await uow.bookings.lock(coachee_id)
        if booking is None or not access.may_see(principal, coachee_id, booking.coach_id):
            raise not_found("coachee", coachee_id)
        scheduling.ensure_active(booking)
        if recurrence is not None:
            first, every_weeks, count = recurrence
            planned = weekly_starts(first, every_weeks, count, ZoneInfo(booking.coachee_timezone))
        else:
            planned = list(starts or ())
        minutes = duration_minutes or booking.session_minutes
        occurrences, problems, places = await _check(
            uow, booking, planned, minutes, now=now, override=override_availability
        )
        result = Plan(occurrences, problems, [])
        if dry_run:
            return result
        _refuse_unless_all_fit(result)
        created = await _write(
            uow, principal, booking, places, now, status, override_availability, note
        )
        await uow.commit()
    return replace(result, created=list(created))


async def _check(
    uow: UnitOfWork,
    booking: AnyRow,
    planned: Sequence[datetime | str],
    minutes: int,
    *,
    now: datetime,
    override: bool,
) -> tuple[list[Occurrence], list[DomainError | None], list[scheduling.Placement]]:
    places = [
        scheduling.placement(booking, start, minutes) if isinstance(start, datetime) else None
        for start in planned
    ]
    real = [place for place in places if place is not None]
    months = sorted({place.month for place in real})
    existing = await uow.sessions.in_months(booking.coachee_id, months) if real else []
    busy = (
        await uow.sessions.open_between(
            coach_id=booking.coach_id,
            coachee_id=booking.coachee_id,
            starts_at=min(place.starts_at for place in real),
            ends_at=max(place.ends_at for place in real),
        )
        if real
        else []
    )
    limit = booking.sessions_per_month
    counting: dict[str, list[tuple[str, datetime]]] = {month: [] for month in months}
    for row in existing:
        if row.status in COUNTING_STATUSES:
            counting[row.month].append((str(row.id), row.starts_at))
    accepted: list[scheduling.Placement] = []
    verdicts: list[tuple[scheduling.Placement | None, DomainError | None]] = []
    for start, place in zip(planned, places, strict=True):
        if place is None:
            assert isinstance(start, str)
            verdicts.append((None, ValidationProblem(start)))
            continue
        problem = _problem(booking, place, now, override, busy, accepted, counting, limit)
        if problem is None:
            accepted.append(place)
            counting[place.month].append((f"~{len(accepted):03d}", place.starts_at))
        verdicts.append((place, problem))
    numbers = _numbers(counting)
    occurrences = []
    for place, problem in verdicts:
        number = None if place is None or problem else numbers[(place.month, place.starts_at)]
        occurrences.append(
            Occurrence(
                starts_at=None if place is None else place.starts_at,
                month=None if place is None else place.month,
                session_number=number,
                label=None if number is None else quota.label(number, limit),
                ok=problem is None,
                code=None if problem is None else problem.code,
                detail=None if problem is None else problem.detail,
            )
        )
    return occurrences, [problem for _, problem in verdicts], accepted


def _refuse_unless_all_fit(result: Plan) -> None:
    """Raise the first occurrence's refusal, with the whole plan, when any does not fit."""
    for position, problem in enumerate(result.problems, start=1):
        if problem is not None:
            raise type(problem)(
                f"Occurrence {position} cannot be booked: {problem.detail} Nothing was booked.",
                **problem.extensions,
                occurrences=[vars(occurrence) for occurrence in result.occurrences],
            )


def _problem(
    booking: AnyRow,
    place: scheduling.Placement,
    now: datetime,
    override: bool,
    busy: Sequence[AnyRow],
    accepted: Sequence[scheduling.Placement],
    counting: dict[str, list[tuple[str, datetime]]],
    limit: int,
) -> DomainError | None:
    try:
        quota.ensure_future(now, place.starts_at)
        scheduling.ensure_in_program(booking, place)
        scheduling.ensure_available(booking, place, override)
    except DomainError as error:
        return error
    for other in busy:
        if other.starts_at < place.ends_at and place.starts_at < other.ends_at:
            return TimeConflict(
                f"This overlaps session {other.id}, from {other.starts_at.isoformat()} "
                f"to {other.ends_at.isoformat()}."
            )
    for earlier in accepted:
        if earlier.starts_at < place.ends_at and place.starts_at < earlier.ends_at:
            return TimeConflict(
                f"This overlaps the batch's own occurrence at {earlier.starts_at.isoformat()}."
            )
    used = len(counting[place.month])
    if used >= limit:
        return MonthlyLimitReached(
            f"{month_title(place.month)} is full ({used} of {limit}, counting this batch); "
            f"this would be session {used + 1}.",
            month=place.month,
            limit=limit,
            used=used,
            attempted_session_number=used + 1,
        )
    return None


def _numbers(counting: dict[str, list[tuple[str, datetime]]]) -> dict[tuple[str, datetime], int]:
    """Session numbers by (month, start), existing and planned sessions ranked together."""
    numbers = {}
    for month, members in counting.items():
        ranked = quota.session_numbers(
            [(key, starts_at, SessionStatus.SCHEDULED) for key, starts_at in members]
        )
        for key, starts_at in members:
            number = ranked[key]
            assert number is not None
            numbers[(month, starts_at)] = number
    return numbers


async def _write(
    uow: UnitOfWork,
    principal: Principal,
    booking: AnyRow,
    places: Sequence[scheduling.Placement],
    now: datetime,
    status: SessionStatus,
    override: bool,
    note: str | None,
) -> Sequence[AnyRow]:
    ids = [uuid.uuid4() for _ in places]
    await uow.sessions.add_many(
        [
            scheduling.new_session_row(session_id, booking, place, status, principal, note, now)
            for session_id, place in zip(ids, places, strict=True)
        ]
    )
    await uow.sessions.add_history_many(
        [
            scheduling.history_entry(
                session_id,
                now,
                principal,
                str(status),
                before=None,
                after=(place.starts_at, place.ends_at, status),
                message=note,
                override=override,
            )
            for session_id, place in zip(ids, places, strict=True)
        ]
    )
    outbox = [
        scheduling.session_event(
            f"session.{status}",
            session_id,
            booking.coachee_id,
            now,
            principal,
            place,
            status,
            extra={"batch": True},
        )
        for session_id, place in zip(ids, places, strict=True)
    ]
    before = await uow.sessions.usage_by_month(
        booking.coachee_id, min(p.month for p in places), max(p.month for p in places)
    )
    added: dict[str, int] = {}
    for place in places:
        added[place.month] = added.get(place.month, 0) + 1
    for month, count in added.items():
        usage = MonthUsage(month, booking.sessions_per_month, before.get(month, {}))
        # `before` already holds this batch's rows: look at the month as it was without them.
        prior = MonthUsage(month, usage.limit, {"scheduled": usage.used - count})
        outbox += scheduling.became_full(booking.coachee_id, now, prior, added=count)
    await uow.events.record_many(outbox)
    return await uow.sessions.numbered_many(ids)
