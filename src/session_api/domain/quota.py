"""The monthly allowance: what counts, where a new session fits, and how a session may change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal, Protocol, Self, TypeVar

from session_api.domain.months import LAST_MONTH, add_months, month_of_date, month_title
from session_api.errors import InThePast, InvalidTransition, MonthlyLimitReached


class SessionStatus(StrEnum):
    """Where a session stands; every status but `cancelled` uses up a place in its month."""

    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    LATE_CANCELLED = "late_cancelled"
    CANCELLED = "cancelled"


COUNTING_STATUSES: frozenset[SessionStatus] = frozenset(SessionStatus) - {SessionStatus.CANCELLED}
OPEN_STATUSES: frozenset[SessionStatus] = frozenset(
    {SessionStatus.REQUESTED, SessionStatus.SCHEDULED}
)

SessionAction = Literal["confirm", "reschedule", "cancel", "complete", "no_show"]

_ALLOWED_FROM: dict[SessionAction, frozenset[SessionStatus]] = {
    "confirm": frozenset({SessionStatus.REQUESTED}),
    "reschedule": OPEN_STATUSES,
    "cancel": OPEN_STATUSES,
    # A requested session was never confirmed by the coach, so it cannot have taken place
    # (or been missed); it has to be confirmed first.
    "complete": frozenset({SessionStatus.SCHEDULED}),
    "no_show": frozenset({SessionStatus.SCHEDULED}),
}
_PAST_PARTICIPLES: dict[SessionAction, str] = {
    "confirm": "confirmed",
    "reschedule": "rescheduled",
    "cancel": "cancelled",
    "complete": "completed",
    "no_show": "marked as a no-show",
}
_STATUS_PHRASES: dict[SessionStatus, str] = {
    SessionStatus.REQUESTED: "A requested session",
    SessionStatus.SCHEDULED: "A scheduled session",
    SessionStatus.COMPLETED: "A completed session",
    SessionStatus.NO_SHOW: "A session marked as a no-show",
    SessionStatus.LATE_CANCELLED: "A late-cancelled session",
    SessionStatus.CANCELLED: "A cancelled session",
}


# The statuses as plain text, in their order (reading an enum member's value is a lookup).
_STATUS_NAMES = tuple(status.value for status in SessionStatus)
_COUNTING_NAMES = frozenset(status.value for status in COUNTING_STATUSES)


def places_taken(counts: Mapping[str, int]) -> int:
    """Places a month's sessions take, from their counts by status: all but cancelled ones."""
    # A month holds one or two statuses: walking them beats looking up all five.
    return sum(count for status, count in counts.items() if status in _COUNTING_NAMES)


@dataclass(frozen=True)
class MonthUsage:
    """How many sessions of one coachee fall in one month, by status, against the limit."""

    month: str
    limit: int
    counts: Mapping[str, int]
    used: int = field(init=False)
    """Places taken: every session that is not cancelled."""

    def __post_init__(self) -> None:
        # Computed once: `remaining`, `full` and an answer's `used` all read it. A plain
        # attribute, not a `cached_property`: on Python 3.11 every read of one takes a lock
        # (4 reads per month written to JSON).
        object.__setattr__(self, "used", places_taken(self.counts))

    @property
    def remaining(self) -> int:
        """Places left; never negative, even after the limit was lowered below `used`."""
        return max(0, self.limit - self.used)

    @property
    def full(self) -> bool:
        """Whether the month accepts no new session."""
        return self.used >= self.limit

    def as_counts(self) -> dict[str, int]:
        """Return the count for every status, zeros included."""
        return {status: self.counts.get(status, 0) for status in _STATUS_NAMES}


def label(session_number: int, sessions_per_month: int) -> str:
    """Return the label people see, e.g. "Session 2 of 2"."""
    return f"Session {session_number} of {sessions_per_month}"


@dataclass(frozen=True)
class ProgramWindow:
    """The months a program covers; None means open-ended on that side."""

    first_month: str | None
    last_month: str | None

    @classmethod
    def from_dates(cls, starts_on: date | None, ends_on: date | None) -> ProgramWindow:
        """Return the window of a program running from `starts_on` to `ends_on` (inclusive)."""
        return cls(
            first_month=None if starts_on is None else month_of_date(starts_on),
            last_month=None if ends_on is None else month_of_date(ends_on),
        )


@dataclass(frozen=True)
class DefaultSlot:
    """Where the schedule dialog opens: the month and the session number there."""

    month: str
    session_number: int
    sessions_per_month: int

    @property
    def label(self) -> str:
        """Return "Session N of M" for this slot."""
        return label(self.session_number, self.sessions_per_month)


def next_available_month(
    refused_month: str, used_by_month: Mapping[str, int], limit: int, last_month: str | None
) -> str | None:
    """Return the earliest month after `refused_month` with room, up to `last_month`."""
    if refused_month >= LAST_MONTH:
        return None
    return _first_month_with_room(add_months(refused_month, 1), last_month, used_by_month, limit)


def default_slot(
    today_month: str, program: ProgramWindow, used_by_month: Mapping[str, int], limit: int
) -> DefaultSlot | None:
    """Return the earliest month from today (or the program's start) that has room, if any."""
    first = max(today_month, program.first_month or today_month)
    month = _first_month_with_room(first, program.last_month, used_by_month, limit)
    if month is None:
        return None
    return DefaultSlot(month, used_by_month.get(month, 0) + 1, limit)


def ensure_fits(
    *,
    month: str,
    usage: MonthUsage,
    moving_from_month: str | None,
    next_available: str | None,
    coachee_name: str,
) -> None:
    """Raise MonthlyLimitReached unless a session may be placed in `month`."""
    # A move within its month takes nothing new: the session already holds one of its places.
    if moving_from_month == month or usage.used < usage.limit:
        return
    attempted = usage.used + 1
    if next_available is None:
        advice = "No later month within the program has room."
    else:
        advice = f"The next month with room is {month_title(next_available)}."
    raise MonthlyLimitReached(
        f"{coachee_name} already has {usage.used} of {usage.limit} sessions in "
        f"{month_title(month)}; this would be session {attempted}. {advice}",
        month=month,
        limit=usage.limit,
        used=usage.used,
        usage=usage.as_counts(),
        attempted_session_number=attempted,
        next_available_month=next_available,
    )


def late_cancel_status(now: datetime, starts_at: datetime, late_cancel_hours: int) -> SessionStatus:
    """Return the status a cancel made at `now` gives: late ones keep their place."""
    if late_cancel_hours > 0 and starts_at - now < timedelta(hours=late_cancel_hours):
        return SessionStatus.LATE_CANCELLED
    return SessionStatus.CANCELLED


def ensure_can(action: SessionAction, status: SessionStatus) -> None:
    """Raise InvalidTransition unless a session in `status` may undergo `action`."""
    if status not in _ALLOWED_FROM[action]:
        raise InvalidTransition(
            f"{_STATUS_PHRASES[status]} cannot be {_PAST_PARTICIPLES[action]}.",
            action=action,
            session_status=status.value,
        )


def ensure_started(now: datetime, starts_at: datetime, action: SessionAction) -> None:
    """Raise InvalidTransition if the session has not started yet."""
    if now < starts_at:
        raise InvalidTransition(
            f"The session can only be {_PAST_PARTICIPLES[action]} after it starts "
            f"({starts_at.isoformat()}).",
            action=action,
            starts_at=starts_at.isoformat(),
        )


def ensure_future(now: datetime, starts_at: datetime) -> None:
    """Raise InThePast unless `starts_at` lies after `now`."""
    if starts_at <= now:
        raise InThePast(
            f"The session would start at {starts_at.isoformat()}, which is not in the future.",
            starts_at=starts_at.isoformat(),
        )


class _SortableId(Protocol):
    def __lt__(self, other: Self, /) -> bool: ...

    def __hash__(self) -> int: ...


SessionId = TypeVar("SessionId", bound=_SortableId)


def session_numbers(
    sessions: Sequence[tuple[SessionId, datetime, SessionStatus]],
) -> dict[SessionId, int | None]:
    """Number one coachee's sessions of one month by (starts_at, id); cancelled ones get None.

    The same ranking as `SESSION_NUMBER` in the sessions repository, for sessions not yet
    written (a batch's plan); give it the ids they will be stored with, so ties rank alike.
    """
    counting = sorted(
        (starts_at, session_id)
        for session_id, starts_at, status in sessions
        if status in COUNTING_STATUSES
    )
    numbers: dict[SessionId, int | None] = {session_id: None for session_id, _, _ in sessions}
    numbers.update({session_id: n for n, (_, session_id) in enumerate(counting, start=1)})
    return numbers


def _first_month_with_room(
    first: str, last: str | None, used_by_month: Mapping[str, int], limit: int
) -> str | None:
    if limit <= 0:
        return None
    month = first
    # Open-ended is safe: past the last month holding sessions, every month has room.
    while month <= (last or LAST_MONTH):
        if used_by_month.get(month, 0) < limit:
            return month
        if month == LAST_MONTH:
            break
        month = add_months(month, 1)
    return None
