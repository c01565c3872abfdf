"""Recording session changes: the row written, its history entry and its outbox events.

Every use case that changes a session records it here, in its own transaction, so history
and events can never disagree with the row.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from session_api.auth import Principal
from session_api.db.repositories.events import NewEvent
from session_api.db.repositories.sessions import (
    HistoryRow,
    NewSessionRow,
    SessionChanges,
    WrittenSession,
)
from session_api.db.unit_of_work import UnitOfWork
from session_api.domain.booking import BookingFacts, Ledger, Placement, SessionFacts
from session_api.domain.events import EventType
from session_api.domain.months import month_title
from session_api.domain.quota import SessionStatus

EVENT_OF_STATUS = {
    SessionStatus.SCHEDULED: EventType.SESSION_SCHEDULED,
    SessionStatus.REQUESTED: EventType.SESSION_REQUESTED,
    SessionStatus.COMPLETED: EventType.SESSION_COMPLETED,
    SessionStatus.NO_SHOW: EventType.SESSION_NO_SHOW,
}


@dataclass(frozen=True)
class Moment:
    """A session's place and status at one point of its life, as history records it."""

    place: Placement
    status: SessionStatus

    @classmethod
    def of(cls, session: SessionFacts) -> Moment:
        """Where a stored session stands now."""
        return cls(Placement(session.starts_at, session.ends_at, session.month), session.status)


@dataclass(frozen=True)
class Change:
    """One change of one session: who did what, from what to what, and the event it makes.

    `event_type` None records the history entry only (a change no event type describes).
    """

    session_id: uuid.UUID
    coachee_id: uuid.UUID
    action: str
    before: Moment | None
    after: Moment
    event_type: EventType | None
    message: str | None = None
    override_availability: bool = False
    event_data: dict[str, str | bool | None] = field(default_factory=dict)


@dataclass(frozen=True)
class MonthShift:
    """How many places of one coachee's month were taken before and after a change."""

    coachee_id: uuid.UUID
    month: str
    limit: int
    used_before: int
    used_after: int


async def record(
    uow: UnitOfWork,
    principal: Principal,
    now: datetime,
    changes: Sequence[Change],
    shifts: Sequence[MonthShift] = (),
) -> None:
    """Add the history entries and outbox events of changes already written to the sessions."""
    entries, outbox = _records(principal, now, changes, shifts)
    if len(entries) == 1:
        await uow.sessions.add_history(entries[0])
    else:
        await uow.sessions.add_history_many(entries)
    await uow.events.record_many(outbox)


async def record_change(
    uow: UnitOfWork,
    principal: Principal,
    now: datetime,
    change: Change,
    *,
    version: int,
    values: SessionChanges,
    shifts: Sequence[MonthShift] = (),
) -> WrittenSession:
    """Write one change of a stored session with its history entry and events (one round
    trip on PostgreSQL); the session comes back numbered."""
    entries, outbox = _records(principal, now, [change], shifts)
    return await uow.sessions.change_recorded(
        change.session_id, version, values, entries[0], outbox
    )


async def record_new(
    uow: UnitOfWork,
    principal: Principal,
    now: datetime,
    facts: BookingFacts,
    placed: Sequence[tuple[uuid.UUID, Placement]],
    *,
    status: SessionStatus,
    note: str | None,
    override_availability: bool,
    ledger: Ledger,
    action: str,
    event_data: dict[str, str | bool | None],
) -> WrittenSession | None:
    """Insert sessions the rulebook placed, with their history, events and filled months.

    A single session is written with its records in one round trip (on PostgreSQL) and comes
    back numbered; several are read back by the caller, as their numbers depend on each other.
    """
    rows = [
        _new_session_row(session_id, facts, place, status, principal, note, now)
        for session_id, place in placed
    ]
    limit = facts.sessions_per_month
    added = Counter(place.month for _, place in placed)
    shifts = []
    for month, count in sorted(added.items()):
        used = ledger.usage(month, limit).used
        shifts.append(MonthShift(facts.coachee_id, month, limit, used, used + count))
    changes = [
        Change(
            session_id,
            facts.coachee_id,
            action,
            before=None,
            after=Moment(place, status),
            event_type=EVENT_OF_STATUS[status],
            message=note,
            override_availability=override_availability,
            event_data=event_data,
        )
        for session_id, place in placed
    ]
    if len(rows) == 1:
        entries, outbox = _records(principal, now, changes, shifts)
        return await uow.sessions.insert_recorded(rows[0], entries[0], outbox)
    await uow.sessions.add_many(rows)
    await record(uow, principal, now, changes, shifts)
    return None


def session_event(
    event_type: EventType,
    *,
    session_id: uuid.UUID,
    coachee_id: uuid.UUID,
    occurred_at: datetime,
    status: str,
    starts_at: datetime,
    ends_at: datetime,
    month: str,
    **details: object,
) -> NewEvent:
    """An outbox event about one session: where the session stands, and what the event adds."""
    return NewEvent(
        event_type,
        session_id=session_id,
        coachee_id=coachee_id,
        occurred_at=occurred_at,
        data={
            **details,
            "status": str(status),
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "month": month,
        },
    )


def _records(
    principal: Principal,
    now: datetime,
    changes: Sequence[Change],
    shifts: Sequence[MonthShift],
) -> tuple[list[HistoryRow], list[NewEvent]]:
    """The history entries and outbox events of some changes and the months they shifted."""
    entries = [_history_row(change, principal, now) for change in changes]
    outbox = [
        session_event(
            change.event_type,
            session_id=change.session_id,
            coachee_id=change.coachee_id,
            occurred_at=now,
            status=change.after.status,
            starts_at=change.after.place.starts_at,
            ends_at=change.after.place.ends_at,
            month=change.after.place.month,
            actor=principal.actor,
            **change.event_data,
        )
        for change in changes
        if change.event_type is not None
    ]
    for shift in shifts:
        type_ = _month_event_type(shift)
        if type_ is not None:
            outbox.append(
                NewEvent(
                    type_,
                    coachee_id=shift.coachee_id,
                    occurred_at=now,
                    data={
                        "month": shift.month,
                        "month_title": month_title(shift.month),
                        "limit": shift.limit,
                        "used": shift.used_after,
                    },
                )
            )
    return entries, outbox


def _new_session_row(
    session_id: uuid.UUID,
    facts: BookingFacts,
    place: Placement,
    status: SessionStatus,
    principal: Principal,
    note: str | None,
    now: datetime,
) -> NewSessionRow:
    """The row of a session being booked for the locked coachee."""
    return {
        "id": session_id,
        "coachee_id": facts.coachee_id,
        "coach_id": facts.coach_id,
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


def _history_row(change: Change, principal: Principal, now: datetime) -> HistoryRow:
    before = change.before
    return {
        "session_id": change.session_id,
        "at": now,
        "actor": principal.actor,
        "action": change.action,
        "from_starts_at": None if before is None else before.place.starts_at,
        "from_ends_at": None if before is None else before.place.ends_at,
        "from_status": None if before is None else before.status,
        "to_starts_at": change.after.place.starts_at,
        "to_ends_at": change.after.place.ends_at,
        "to_status": change.after.status,
        "message": change.message,
        "override_availability": change.override_availability,
    }


def _month_event_type(shift: MonthShift) -> EventType | None:
    """`coachee.month_full` when a change filled the month, `month_available` when it freed it."""
    if shift.used_before < shift.limit <= shift.used_after:
        return EventType.COACHEE_MONTH_FULL
    if shift.used_after == shift.limit - 1 and shift.used_before >= shift.limit:
        return EventType.COACHEE_MONTH_AVAILABLE
    return None
