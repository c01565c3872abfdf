"""The booking rulebook: where a session may be placed, and how a placed one may change.

Every path that places a session decides here: a schedule or request, a backfill, a
reschedule, a confirm, each occurrence of a batch (checked against a ledger that holds the
batch's earlier occurrences), and the months of a coachee's free slots. Services load the
facts under the coachee's lock, call one of these functions and save what it returns; a
refusal is the same `DomainError`, with the same fields, whichever path asked.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

from session_api.domain import quota
from session_api.domain.availability import Availability, fits
from session_api.domain.months import month_of, month_of_date
from session_api.domain.quota import MonthUsage, SessionAction, SessionStatus
from session_api.errors import (
    CoacheeInactive,
    DomainError,
    Forbidden,
    InvalidTransition,
    OutsideAvailability,
    OutsideProgram,
    TimeConflict,
    ValidationProblem,
)

BACKFILL_STATUSES = frozenset({SessionStatus.COMPLETED, SessionStatus.NO_SHOW})
# How long a session may last, in minutes, and how many one batch may plan.
MIN_SESSION_MINUTES: Final = 15
MAX_SESSION_MINUTES: Final = 240
MAX_OCCURRENCES: Final = 24
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class BookingFacts:
    """What every placement decision needs, loaded under the coachee's (then coach's) lock."""

    coachee_id: uuid.UUID
    coach_id: uuid.UUID
    coachee_name: str
    coachee_timezone: str
    coachee_status: str
    sessions_per_month: int
    session_minutes: int
    starts_on: date | None
    ends_on: date | None
    late_cancel_hours: int
    coach_timezone: str
    availability: Availability

    @property
    def last_month(self) -> str | None:
        """The program's last month, or None when it is open-ended."""
        return None if self.ends_on is None else self.ends_on.strftime("%Y-%m")


@dataclass(frozen=True)
class SessionFacts:
    """A stored session, locked for a change, with the facts of its booking."""

    id: uuid.UUID
    coachee_coach_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    month: str
    status: SessionStatus
    version: int
    sequence: int
    booking: BookingFacts

    @property
    def minutes(self) -> int:
        """The session's length in whole minutes."""
        return int((self.ends_at - self.starts_at) / _MINUTE)


@dataclass(frozen=True)
class Placement:
    """Where a session would sit: its instants and its month in the coachee's zone."""

    starts_at: datetime
    ends_at: datetime
    month: str


@dataclass(frozen=True)
class OpenSession:
    """A requested or scheduled session that may block a placement.

    `id` is None for an occurrence a batch plans but has not written.
    """

    id: uuid.UUID | None
    coachee_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Ledger:
    """What a placement is checked against.

    `counts` holds the coachee's sessions by month and status, from the placement's month
    (or the moved session's, if earlier) to the program's end; `open_sessions` the open
    sessions of the coach and the coachee that may overlap it, by start.
    """

    counts: Mapping[str, Mapping[str, int]]
    open_sessions: Sequence[OpenSession]

    def usage(self, month: str, limit: int) -> MonthUsage:
        """The month's counts against the limit."""
        return MonthUsage(month, limit, self.counts.get(month, {}))

    def with_planned(
        self, coachee_id: uuid.UUID, place: Placement, status: SessionStatus
    ) -> Ledger:
        """This ledger with one more (planned) session, as a batch's next occurrence sees it."""
        counts = {month: dict(by_status) for month, by_status in self.counts.items()}
        month = counts.setdefault(place.month, {})
        month[status] = month.get(status, 0) + 1
        planned = OpenSession(None, coachee_id, place.starts_at, place.ends_at)
        open_sessions = sorted([*self.open_sessions, planned], key=lambda s: s.starts_at)
        return Ledger(counts, open_sessions)


@dataclass(frozen=True)
class NewBooking:
    """How new sessions are asked for: as what, when, by whom, and whether availability binds."""

    status: SessionStatus
    now: datetime
    by_coachee: bool
    override_availability: bool


@dataclass(frozen=True)
class Verdict:
    """One occurrence of a batch: where it falls, and why it cannot be booked (if so)."""

    place: Placement | None
    problem: DomainError | None


def refuse_coachee_override(*, by_coachee: bool, override_availability: bool) -> None:
    """A coachee books inside the coach's availability only."""
    if override_availability and by_coachee:
        raise Forbidden("Only the coach or an admin may book outside the coach's availability.")


def ensure_active(coachee_name: str, coachee_status: str) -> None:
    """Only active coachees get new sessions, or a default slot."""
    if coachee_status != "active":
        raise CoacheeInactive(
            f"{coachee_name} is {coachee_status}; only active coachees get new sessions.",
            coachee_status=coachee_status,
        )


def placement(facts: BookingFacts, starts_at: datetime, minutes: int) -> Placement:
    """Where a session starting at `starts_at` for `minutes` would sit."""
    zone = ZoneInfo(facts.coachee_timezone)
    return Placement(starts_at, starts_at + timedelta(minutes=minutes), month_of(starts_at, zone))


def place_new(
    facts: BookingFacts, starts_at: datetime, minutes: int, asked: NewBooking, ledger: Ledger
) -> Placement:
    """Decide a new session (schedule, request or backfill): its placement, or the refusal."""
    refuse_coachee_override(
        by_coachee=asked.by_coachee, override_availability=asked.override_availability
    )
    ensure_active(facts.coachee_name, facts.coachee_status)
    place = placement(facts, starts_at, minutes)
    backfill = asked.status in BACKFILL_STATUSES
    if backfill:
        if place.ends_at > asked.now:
            raise ValidationProblem(
                f"A {asked.status} session is recorded from the past; this one ends "
                f"{place.ends_at.isoformat()}, after now."
            )
    else:
        quota.ensure_future(asked.now, place.starts_at)
    _ensure_in_program(facts, place)
    if not backfill:
        _ensure_available(facts, place, asked.override_availability)
        _ensure_no_conflict(facts, place, ledger, by_coachee=asked.by_coachee, excluding=None)
    _ensure_room(facts, place.month, ledger, moving_from=None)
    return place


def place_move(
    session: SessionFacts,
    starts_at: datetime,
    minutes: int | None,
    *,
    now: datetime,
    by_coachee: bool,
    override_availability: bool,
    ledger: Ledger,
) -> Placement | None:
    """Decide a reschedule: the new placement, None when nothing would change, or the refusal."""
    refuse_coachee_override(by_coachee=by_coachee, override_availability=override_availability)
    ensure_may_change(session, "reschedule", now=now, by_coachee=by_coachee)
    facts = session.booking
    place = placement(facts, starts_at, minutes or session.minutes)
    if (place.starts_at, place.ends_at) == (session.starts_at, session.ends_at):
        return None
    quota.ensure_future(now, place.starts_at)
    _ensure_in_program(facts, place)
    _ensure_available(facts, place, override_availability)
    _ensure_no_conflict(facts, place, ledger, by_coachee=by_coachee, excluding=session.id)
    _ensure_room(facts, place.month, ledger, moving_from=session.month)
    return place


def moved_status(session: SessionFacts, *, by_coachee: bool) -> SessionStatus:
    """A coach (or admin) moving a requested session has agreed to the new time."""
    if session.status is SessionStatus.REQUESTED and not by_coachee:
        return SessionStatus.SCHEDULED
    return session.status


def ensure_confirmable(session: SessionFacts, *, now: datetime, ledger: Ledger) -> None:
    """Confirming is the coach's consent: no availability check, but ahead and overlap-free."""
    quota.ensure_can("confirm", session.status)
    quota.ensure_future(now, session.starts_at)
    place = Placement(session.starts_at, session.ends_at, session.month)
    _ensure_no_conflict(session.booking, place, ledger, by_coachee=False, excluding=session.id)


def cancel_status(session: SessionFacts, *, now: datetime, by_coachee: bool) -> SessionStatus:
    """The status a cancel gives: only a coachee's late cancel keeps counting."""
    ensure_may_change(session, "cancel", now=now, by_coachee=by_coachee)
    if not by_coachee:
        return SessionStatus.CANCELLED
    return quota.late_cancel_status(now, session.starts_at, session.booking.late_cancel_hours)


def ensure_may_change(
    session: SessionFacts, action: SessionAction, *, now: datetime, by_coachee: bool
) -> None:
    """Open sessions only; once started, only the coach or an admin may still change one."""
    quota.ensure_can(action, session.status)
    if by_coachee and session.starts_at <= now:
        verb = "rescheduled" if action == "reschedule" else "cancelled"
        raise InvalidTransition(
            f"The session started at {session.starts_at.isoformat()}; a coachee can no longer "
            f"have it {verb}. Ask the coach if it did not take place.",
            action=action,
            session_status=session.status.value,
        )


def plan_occurrences(
    facts: BookingFacts,
    starts: Sequence[datetime | str],
    minutes: int,
    asked: NewBooking,
    ledger: Ledger,
) -> list[Verdict]:
    """Decide each occurrence like a single booking, counting the batch's earlier ones.

    A start given as text is a local time the clocks skip, and says why.
    """
    verdicts = []
    for start in starts:
        if isinstance(start, str):
            verdicts.append(Verdict(None, ValidationProblem(start)))
            continue
        try:
            place = place_new(facts, start, minutes, asked, ledger)
        except DomainError as problem:
            verdicts.append(Verdict(placement(facts, start, minutes), problem))
            continue
        ledger = ledger.with_planned(facts.coachee_id, place, asked.status)
        verdicts.append(Verdict(place, None))
    return verdicts


class FreeSlot(NamedTuple):
    """A bookable [starts_at, ends_at); with a coachee, its month in the coachee's zone (as a
    placement's) and whether that month is full, else None for both.

    A named tuple: a range lists hundreds, and a frozen dataclass costs three times as much
    to build.
    """

    starts_at: datetime
    ends_at: datetime
    month: str | None
    month_full: bool | None


def slot_months(
    slots: Sequence[tuple[datetime, datetime]],
    *,
    coachee_timezone: str,
    starts_on: date | None,
    ends_on: date | None,
    usage: Sequence[MonthUsage],
) -> list[FreeSlot]:
    """Free slots as a coachee's placements, each with its month and whether it is full.

    A slot a booking would refuse as `outside_program` is left out; `usage` covers the
    program's months that the slots touch.
    """
    zone = ZoneInfo(coachee_timezone)
    full = {month.month: month.full for month in usage}
    # A range lists hundreds of slots, a few local days' worth each: each slot's local date
    # is worked out once (`month_of`'s reading, kept for the program's check), its month
    # once per date.
    month_of_day: dict[date, str] = {}
    flagged = []
    for starts_at, ends_at in slots:
        day = starts_at.astimezone(zone).date()
        if _outside_program(starts_on, ends_on, zone, day, ends_at) is None:
            month = month_of_day.get(day)
            if month is None:
                month = month_of_day[day] = month_of_date(day)
            flagged.append(FreeSlot(starts_at, ends_at, month, full[month]))
    return flagged


def weekly_starts(
    first_starts_at: datetime, every_weeks: int, count: int, zone: ZoneInfo
) -> list[datetime | str]:
    """`first_starts_at`, then the same local wall-clock time every few weeks.

    The first occurrence is exactly the instant given, even when its local time is repeated.
    Later ones: a local time skipped by a clock change cannot be booked and is reported,
    never moved; a repeated one takes its first occurrence (the earlier instant).
    """
    local = first_starts_at.astimezone(zone)
    wall_clock = local.time().replace(tzinfo=None, fold=0)
    starts: list[datetime | str] = [first_starts_at.astimezone(UTC)]
    for k in range(1, count):
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


def _ensure_in_program(facts: BookingFacts, place: Placement) -> None:
    """The session's local dates, in the coachee's zone, lie within the program's dates."""
    zone = ZoneInfo(facts.coachee_timezone)
    first_day = place.starts_at.astimezone(zone).date()
    refusal = _outside_program(facts.starts_on, facts.ends_on, zone, first_day, place.ends_at)
    if refusal is not None:
        raise refusal


def _outside_program(
    starts_on: date | None, ends_on: date | None, zone: ZoneInfo, first_day: date, ends_at: datetime
) -> OutsideProgram | None:
    """Why a session on local dates `first_day` (its start's) to its end's, in the coachee's
    zone, lies outside the program's dates; None when it does not."""
    # The last date is worked out only for a program with an end: free slots ask for
    # hundreds of slots, mostly of programs with none.
    if starts_on is not None and first_day < starts_on:
        return OutsideProgram(
            f"The program starts on {starts_on.isoformat()}; the session would be on "
            f"{first_day.isoformat()}.",
            starts_on=starts_on,
            ends_on=ends_on,
        )
    if (
        ends_on is not None
        and (last_day := (ends_at - timedelta(microseconds=1)).astimezone(zone).date()) > ends_on
    ):
        return OutsideProgram(
            f"The program ends on {ends_on.isoformat()}; the session would be on "
            f"{last_day.isoformat()}.",
            starts_on=starts_on,
            ends_on=ends_on,
        )
    return None


def _ensure_available(facts: BookingFacts, place: Placement, override: bool) -> None:
    """Inside the coach's windows (touching ones joined), unless the coach or an admin overrides."""
    if override:
        return
    zone = ZoneInfo(facts.coach_timezone)
    if not fits(facts.availability, zone, place.starts_at, place.ends_at):
        local = place.starts_at.astimezone(zone)
        raise OutsideAvailability(
            f"The coach is not available at {local:%A %d %B %Y %H:%M} ({zone.key}) for "
            f"{int((place.ends_at - place.starts_at) / _MINUTE)} minutes; "
            "see the coach's free slots.",
            coach_timezone=zone.key,
        )


def _ensure_no_conflict(
    facts: BookingFacts,
    place: Placement,
    ledger: Ledger,
    *,
    by_coachee: bool,
    excluding: uuid.UUID | None,
) -> None:
    """Nobody is ever in two open sessions at once; no override skips this."""
    other = _first_overlap(place.starts_at, place.ends_at, ledger.open_sessions, excluding)
    if other is not None:
        raise _conflict(facts, other, by_coachee=by_coachee)


def ensure_coach_free(
    coachee_name: str, ahead: Sequence[OpenSession], coach_sessions: Sequence[OpenSession]
) -> None:
    """A new coach takes over a coachee's sessions ahead only while free at each of them.

    `coach_sessions` are the open sessions around them that the new coach (or the coachee)
    holds; the coachee's own do not move in time, so only the coach's other ones can clash.
    """
    for session in ahead:
        others = [other for other in coach_sessions if other.coachee_id != session.coachee_id]
        other = _first_overlap(session.starts_at, session.ends_at, others, excluding=None)
        if other is not None:
            raise TimeConflict(
                f"{coachee_name}'s session {session.id} ({session.starts_at.isoformat()}) "
                f"overlaps the new coach's session {other.id}, from "
                f"{other.starts_at.isoformat()} to {other.ends_at.isoformat()}; "
                "move one of them first.",
                conflicting_session={
                    "id": other.id,
                    "starts_at": other.starts_at,
                    "ends_at": other.ends_at,
                },
            )


def _first_overlap(
    starts_at: datetime,
    ends_at: datetime,
    open_sessions: Sequence[OpenSession],
    excluding: uuid.UUID | None,
) -> OpenSession | None:
    """The first open session, other than `excluding`, sharing time with [starts_at, ends_at)."""
    for other in open_sessions:
        if other.id is not None and other.id == excluding:
            continue
        if other.starts_at < ends_at and starts_at < other.ends_at:
            return other
    return None


def _conflict(facts: BookingFacts, other: OpenSession, *, by_coachee: bool) -> TimeConflict:
    span = f"{other.starts_at.isoformat()} to {other.ends_at.isoformat()}"
    hidden = {"id": None, "starts_at": other.starts_at, "ends_at": other.ends_at}
    if other.id is None:
        return TimeConflict(
            f"This overlaps the batch's own occurrence from {span}.", conflicting_session=hidden
        )
    if other.coachee_id != facts.coachee_id:
        # A coachee is not told which other coachee's session blocks their coach.
        if by_coachee:
            return TimeConflict(
                f"The coach is already in a session from {span}.", conflicting_session=hidden
            )
        whose = "the coach"
    else:
        whose = "the coachee"
    return TimeConflict(
        f"This overlaps session {other.id} of {whose}, from {span}.",
        conflicting_session={**hidden, "id": other.id},
    )


def _ensure_room(
    facts: BookingFacts, month: str, ledger: Ledger, *, moving_from: str | None
) -> None:
    """Refuse with the facts a person needs when the month is full."""
    usage = ledger.usage(month, facts.sessions_per_month)
    if moving_from == month or not usage.full:
        return
    used_by_month = {
        later: ledger.usage(later, usage.limit).used
        for later in ledger.counts
        if later > month and (facts.last_month is None or later <= facts.last_month)
    }
    if moving_from in used_by_month:
        # The moving session leaves its own month: it must not block a move back there.
        used_by_month[moving_from] -= 1
    quota.ensure_fits(
        month=month,
        usage=usage,
        moving_from_month=moving_from,
        next_available=quota.next_available_month(
            month, used_by_month, usage.limit, facts.last_month
        ),
        coachee_name=facts.coachee_name,
    )


def numbers_of_planned(
    existing: Sequence[tuple[uuid.UUID, datetime, SessionStatus, str]],
    planned: Sequence[tuple[uuid.UUID, Placement]],
) -> dict[uuid.UUID, int | None]:
    """Session numbers of planned sessions, ranked with the existing ones of their months."""
    by_month: dict[str, list[tuple[uuid.UUID, datetime, SessionStatus]]] = {}
    for session_id, starts_at, status, month in existing:
        by_month.setdefault(month, []).append((session_id, starts_at, status))
    for session_id, place in planned:
        by_month.setdefault(place.month, []).append(
            (session_id, place.starts_at, SessionStatus.SCHEDULED)
        )
    numbers: dict[uuid.UUID, int | None] = {}
    for members in by_month.values():
        numbers.update(quota.session_numbers(members))
    return numbers
