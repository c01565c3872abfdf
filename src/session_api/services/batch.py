"""Planning several sessions for one coachee at once: all or nothing, or a dry-run plan.

Each occurrence is decided by the same rulebook as a single booking, against a ledger that
holds the batch's own earlier occurrences: a third weekly session in a 2-a-month month fails,
and so does one overlapping an earlier occurrence. Everything is read in a constant number
of statements, whatever the number of occurrences, and written in one round trip per table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from session_api.auth import Principal, Role
from session_api.db.repositories.sessions import NumberedSession
from session_api.db.unit_of_work import UnitOfWork
from session_api.domain import booking, quota
from session_api.domain.booking import BookingFacts, Ledger, Placement, Verdict
from session_api.domain.quota import SessionStatus
from session_api.errors import DomainError
from session_api.services import access
from session_api.services.access import not_found
from session_api.services.changes import record_new
from session_api.services.context import Context


@dataclass(frozen=True)
class Recurrence:
    """The same local wall-clock time (coachee's zone) every few weeks, from the first start."""

    first_starts_at: datetime
    every_weeks: int
    count: int


@dataclass(frozen=True)
class NewBatch:
    """A request to plan sessions for one coachee: a list of starts, or a recurrence."""

    coachee_id: uuid.UUID
    starts: Sequence[datetime] | None
    recurrence: Recurrence | None
    duration_minutes: int | None
    status: SessionStatus
    override_availability: bool
    note: str | None
    dry_run: bool


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
    created: list[NumberedSession] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every occurrence can be booked."""
        return all(occurrence.ok for occurrence in self.occurrences)


async def plan(ctx: Context, principal: Principal, command: NewBatch) -> Plan:
    """Check every occurrence; unless it is a dry run, book them all or raise the refusal."""
    by_coachee = principal.role is Role.COACHEE
    booking.refuse_coachee_override(
        by_coachee=by_coachee, override_availability=command.override_availability
    )
    now = ctx.now()
    unit = ctx.reading() if command.dry_run else ctx.writing()
    async with unit as uow:
        facts = await uow.bookings.lock(command.coachee_id)
        if facts is None or not access.may_see(principal, command.coachee_id, facts.coach_id):
            raise not_found("coachee", command.coachee_id)
        booking.ensure_active(facts.coachee_name, facts.coachee_status)
        starts = _starts(command, facts)
        minutes = command.duration_minutes or facts.session_minutes
        wanted = [
            booking.placement(facts, start, minutes)
            for start in starts
            if isinstance(start, datetime)
        ]
        ledger = await _load_ledger(uow, facts, wanted)
        asked = booking.NewBooking(
            status=command.status,
            now=now,
            by_coachee=by_coachee,
            override_availability=command.override_availability,
        )
        verdicts = booking.plan_occurrences(facts, starts, minutes, asked, ledger)
        ids = [uuid.uuid4() for _ in verdicts]
        existing = (
            await uow.sessions.in_months(facts.coachee_id, sorted({p.month for p in wanted}))
            if wanted
            else []
        )
        result = _plan_of(facts, verdicts, ids, existing)
        if command.dry_run:
            return result
        _refuse_unless_all_fit(result)
        places = [verdict.place for verdict in verdicts if verdict.place is not None]
        created = await _write(uow, principal, facts, ids, places, ledger, command, now)
        await uow.commit()
    return Plan(result.occurrences, result.problems, list(created))


def _starts(command: NewBatch, facts: BookingFacts) -> list[datetime | str]:
    recurrence = command.recurrence
    if recurrence is None:
        return list(command.starts or ())
    return booking.weekly_starts(
        recurrence.first_starts_at,
        recurrence.every_weeks,
        recurrence.count,
        ZoneInfo(facts.coachee_timezone),
    )


async def _load_ledger(uow: UnitOfWork, facts: BookingFacts, wanted: list[Placement]) -> Ledger:
    """The coachee's months from the batch's first on, and the open sessions it spans."""
    if not wanted:
        return Ledger({}, [])
    counts = await uow.sessions.usage_by_month(
        facts.coachee_id, min(place.month for place in wanted), facts.last_month
    )
    open_sessions = await uow.sessions.open_between(
        coach_id=facts.coach_id,
        coachee_id=facts.coachee_id,
        starts_at=min(place.starts_at for place in wanted),
        ends_at=max(place.ends_at for place in wanted),
    )
    return Ledger(counts, open_sessions)


def _plan_of(
    facts: BookingFacts,
    verdicts: Sequence[Verdict],
    ids: Sequence[uuid.UUID],
    existing: Sequence[tuple[uuid.UUID, datetime, SessionStatus, str]],
) -> Plan:
    accepted = [
        (session_id, verdict.place)
        for session_id, verdict in zip(ids, verdicts, strict=True)
        if verdict.place is not None and verdict.problem is None
    ]
    numbers = booking.numbers_of_planned(existing, accepted)
    limit = facts.sessions_per_month
    occurrences = []
    for session_id, verdict in zip(ids, verdicts, strict=True):
        place, problem = verdict.place, verdict.problem
        number = None if problem is not None else numbers[session_id]
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
    return Plan(occurrences, [verdict.problem for verdict in verdicts])


def _refuse_unless_all_fit(result: Plan) -> None:
    """Raise the first occurrence's refusal, with the whole plan, when any does not fit."""
    for position, problem in enumerate(result.problems, start=1):
        if problem is not None:
            raise type(problem)(
                f"Occurrence {position} cannot be booked: {problem.detail} Nothing was booked.",
                **problem.extensions,
                occurrences=[vars(occurrence) for occurrence in result.occurrences],
            )


async def _write(
    uow: UnitOfWork,
    principal: Principal,
    facts: BookingFacts,
    ids: Sequence[uuid.UUID],
    places: Sequence[Placement],
    ledger: Ledger,
    command: NewBatch,
    now: datetime,
) -> Sequence[NumberedSession]:
    await record_new(
        uow,
        principal,
        now,
        facts,
        list(zip(ids, places, strict=True)),
        status=command.status,
        note=command.note,
        override_availability=command.override_availability,
        ledger=ledger,
        action=str(command.status),
        event_data={"batch": True},
    )
    return await uow.sessions.numbered_many(ids)
