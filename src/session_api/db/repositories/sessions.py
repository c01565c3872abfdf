"""Sessions: numbered reads, monthly usage, conflicts and writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, make_dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal, NamedTuple, TypedDict

from sqlalchemy import (
    Column,
    CompoundSelect,
    FromClause,
    Label,
    Select,
    Subquery,
    Table,
    Text,
    bindparam,
    case,
    cast,
    func,
    insert,
    null,
    select,
    tuple_,
    union,
    union_all,
    update,
)

from session_api.db.models import (
    coachees,
    coaches,
    events,
    programs,
    session_history,
    sessions,
)
from session_api.db.precompiled import ReadStatement
from session_api.db.repositories.base import AnyRow, Repository, typed
from session_api.db.repositories.events import (
    EVENT_COLUMNS,
    EventRepository,
    NewEvent,
    event_values,
)
from session_api.domain.availability import Availability, availability_from_text
from session_api.domain.booking import (
    MAX_SESSION_MINUTES,
    BookingFacts,
    Ledger,
    OpenSession,
    SessionFacts,
)
from session_api.domain.months import LAST_MONTH
from session_api.domain.quota import COUNTING_STATUSES, OPEN_STATUSES, SessionStatus

COUNTING = sorted(COUNTING_STATUSES)


@dataclass(frozen=True)
class WrittenSession:
    """A session as a write stored it, numbered in its coachee's month."""

    id: uuid.UUID
    coachee_id: uuid.UUID
    coach_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    month: str
    status: str
    created_by: str
    note: str | None
    cancelled_by: str | None
    cancelled_at: datetime | None
    cancel_message: str | None
    version: int
    sequence: int
    created_at: datetime
    updated_at: datetime
    session_number: int | None

    def shown(
        self, *, sessions_per_month: int, coachee_name: str, coachee_coach_id: uuid.UUID
    ) -> NumberedSession:
        """The session as the API shows it, with its program's M and its coachee."""
        # Filled as the precompiled rows are: the generated __init__ of a frozen dataclass
        # sets each of the 20 fields through object.__setattr__ (5 us from keywords, 1 here).
        shown: NumberedSession = object.__new__(NumberedSession)
        shown.__dict__.update(
            self.__dict__,
            sessions_per_month=sessions_per_month,
            coachee_name=coachee_name,
            coachee_coach_id=coachee_coach_id,
        )
        return shown


@dataclass(frozen=True)
class NumberedSession(WrittenSession):
    """A session as the API shows it: numbered in its coachee's month, with the month's M."""

    sessions_per_month: int
    coachee_name: str
    coachee_coach_id: uuid.UUID


@dataclass(frozen=True)
class RecordedChange:
    """One entry of a session's history, as stored."""

    id: int
    session_id: uuid.UUID
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    from_starts_at: datetime | None
    from_ends_at: datetime | None
    to_starts_at: datetime | None
    to_ends_at: datetime | None
    message: str | None
    override_availability: bool


@dataclass(frozen=True)
class SessionAhead:
    """A coachee's requested or scheduled session that has not ended, with its coach."""

    id: uuid.UUID
    coachee_id: uuid.UUID
    coach_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    month: str
    status: SessionStatus


class NewSessionRow(TypedDict):
    """The columns of a session being inserted."""

    id: uuid.UUID
    coachee_id: uuid.UUID
    coach_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    month: str
    status: str
    created_by: str
    note: str | None
    version: int
    sequence: int
    created_at: datetime
    updated_at: datetime


class HistoryRow(TypedDict):
    """The columns of a history entry being inserted."""

    session_id: uuid.UUID
    at: datetime
    actor: str
    action: str
    from_starts_at: datetime | None
    from_ends_at: datetime | None
    from_status: str | None
    to_starts_at: datetime
    to_ends_at: datetime
    to_status: str
    message: str | None
    override_availability: bool


class SessionChanges(TypedDict, total=False):
    """The columns a change of a session may set (its version rises by itself)."""

    starts_at: datetime
    ends_at: datetime
    month: str
    status: str
    cancelled_by: str
    cancelled_at: datetime
    cancel_message: str
    sequence: int
    updated_at: datetime


# The lock's rows: the booking facts' own fields with the availability as stored (parsed
# once per document by `availability_from_text`), and for a change the session's columns.
_LockedBooking = make_dataclass(
    "_LockedBooking",
    [
        (field.name, str if field.name == "availability" else field.type)
        for field in fields(BookingFacts)
    ],
    frozen=True,
)
_LockedSession = make_dataclass(
    "_LockedSession",
    [
        ("id", uuid.UUID),
        ("session_coach_id", uuid.UUID),
        ("starts_at", datetime),
        ("ends_at", datetime),
        ("month", str),
        ("status", str),
        ("version", int),
        ("sequence", int),
    ],
    bases=(_LockedBooking,),
    frozen=True,
)


class _LedgerRow(NamedTuple):
    """A blocking open session (`n` None) or one month's count of one status."""

    id: uuid.UUID | None
    coachee_id: uuid.UUID | None
    starts_at: datetime | None
    ends_at: datetime | None
    month: str | None
    status: str | None
    n: int | None


class _StatusCount(NamedTuple):
    status: str
    n: int


OPEN = sorted(OPEN_STATUSES)

_peers = sessions.alias("peer")


def session_number(of: FromClause) -> Label[Any]:
    """The N of "Session N of M" for the rows of `of` (the sessions table, or a write's rows).

    The rank of a counting session among its coachee's counting sessions of the same month, by
    (starts_at, id). A correlated count served by the (coachee_id, month, starts_at, id) index,
    so a page of sessions costs one statement whatever its size. It counts the others ahead
    and adds one, never the row itself: a statement that writes the row may still see it as
    it was before (PostgreSQL's data-modifying CTEs do), or not see an inserted one at all.
    """
    return case(
        (of.c.status == "cancelled", None),
        else_=1
        + (
            select(func.count())
            .select_from(_peers)
            .where(
                _peers.c.coachee_id == of.c.coachee_id,
                _peers.c.month == of.c.month,
                _peers.c.status.in_(COUNTING),
                _peers.c.id != of.c.id,
                tuple_(_peers.c.starts_at, _peers.c.id) < tuple_(of.c.starts_at, of.c.id),
            )
            .correlate(of)
            .scalar_subquery()
        ),
    ).label("session_number")


SESSION_NUMBER = session_number(sessions)


def numbered_sessions() -> Select[*tuple[Any, ...]]:
    """Sessions with their number, the program's M and the coachee's name (add filters)."""
    return (
        select(
            *sessions.c,
            SESSION_NUMBER,
            programs.c.sessions_per_month,
            coachees.c.name.label("coachee_name"),
            coachees.c.coach_id.label("coachee_coach_id"),
        )
        .join(coachees, coachees.c.id == sessions.c.coachee_id)
        .join(programs, programs.c.id == coachees.c.program_id)
    )


# What every booking decision needs: the coachee's zone and status, the program's rules,
# the coach's zone and availability.
_BOOKING_FACTS = (
    coachees.c.id.label("coachee_id"),
    coachees.c.coach_id,
    coachees.c.name.label("coachee_name"),
    coachees.c.timezone.label("coachee_timezone"),
    coachees.c.status.label("coachee_status"),
    programs.c.sessions_per_month,
    programs.c.session_minutes,
    programs.c.starts_on,
    programs.c.ends_on,
    programs.c.late_cancel_hours,
    coaches.c.timezone.label("coach_timezone"),
    # As stored, so that a coach's document is parsed once (`availability_from_text`).
    cast(coaches.c.availability, Text).label("availability"),
)
# Built once: the hot paths only bind values.
_NUMBERED_BY_ID = ReadStatement(
    numbered_sessions().where(sessions.c.id == bindparam("session_id")), NumberedSession
)
# The write's statements run precompiled inside its transaction (`in_transaction`).
_LOCK_FOR_CHANGE: ReadStatement[Any] = ReadStatement(
    select(
        sessions.c.id,
        sessions.c.coach_id.label("session_coach_id"),
        sessions.c.starts_at,
        sessions.c.ends_at,
        sessions.c.month,
        sessions.c.status,
        sessions.c.version,
        sessions.c.sequence,
        *_BOOKING_FACTS,
    )
    .join(coachees, coachees.c.id == sessions.c.coachee_id)
    .join(programs, programs.c.id == coachees.c.program_id)
    .join(coaches, coaches.c.id == sessions.c.coach_id)
    .where(sessions.c.id == bindparam("session_id"))
    .with_for_update(of=[coachees, coaches]),
    _LockedSession,
)

# The conflict check and the usage are a statement of their own, after the lock: on PostgreSQL
# a locking read that waited for another writer returns the rows it locked as they are now, but
# reads every other table from the snapshot taken before the wait, missing that writer's session.
_LOCK_BOOKING: ReadStatement[Any] = ReadStatement(
    select(*_BOOKING_FACTS)
    .join(programs, programs.c.id == coachees.c.program_id)
    .join(coaches, coaches.c.id == coachees.c.coach_id)
    .where(coachees.c.id == bindparam("coachee_id"))
    .with_for_update(of=[coachees, coaches]),
    _LockedBooking,
)


# No stored session lasts longer than MAX_SESSION_MINUTES (the domain caps it and so does a
# CHECK of the table, `SESSION_LENGTH_CHECKS`), so one overlapping [starts_at, ends_at) starts
# after starts_at - MAX_SESSION_MINUTES. The minute more covers SQLite's CHECK, which compares
# lengths as floats.
_LONGEST_SESSION = timedelta(minutes=MAX_SESSION_MINUTES + 1)


def _overlap_values(starts_at: datetime, ends_at: datetime) -> dict[str, Any]:
    """The parameters of `_open_overlapping` for the range [starts_at, ends_at)."""
    return {
        "starts_at": starts_at,
        "ends_at": ends_at,
        "earliest_start": starts_at - _LONGEST_SESSION,
    }


def _open_overlapping(people: Sequence[Column[uuid.UUID]], *, excluding: bool = False) -> Subquery:
    """The open sessions of some people (the coach, the coachee) overlapping [starts_at,
    ends_at), each session once (parameters: `_overlap_values` and each person's id).

    One scan per person, along their own (person, starts_at) index, then the union of what
    they found. With `coach_id = … OR coachee_id = …`, PostgreSQL's generic plan walked every
    session in start order and filtered them (1.1 ms of its CPU per write at 5,000 sessions,
    growing with the table); the people's scans are kept apart as materialized CTEs so that
    no plan can trade them for that walk again. Each scan starts at `earliest_start`, the
    earliest start an overlapping session can have: bounded only by `starts_at < ends_at`, it
    walked the person's whole past (2,488 index entries and 71 heap pages for the busiest
    coach of the benchmark's 500,000 sessions, 0.2-0.3 ms of PostgreSQL's CPU per write).
    """
    scans = []
    for person in people:
        scan = select(
            sessions.c.id,
            sessions.c.coach_id,
            sessions.c.coachee_id,
            sessions.c.starts_at,
            sessions.c.ends_at,
        ).where(
            person == bindparam(person.name),
            sessions.c.status.in_(OPEN),
            sessions.c.starts_at < bindparam("ends_at"),
            sessions.c.starts_at > bindparam("earliest_start"),
            sessions.c.ends_at > bindparam("starts_at"),
        )
        if excluding:
            scan = scan.where(sessions.c.id != bindparam("excluding"))
        found = scan.cte(f"open_of_{person.name}").prefix_with("MATERIALIZED", dialect="postgresql")
        scans.append(select(found))
    return union(*scans).subquery("open_overlapping")


_COACH_AND_COACHEE = (sessions.c.coach_id, sessions.c.coachee_id)


def _first_conflict(*, excluding: bool) -> Select[*tuple[Any, ...]]:
    """The earliest open session of the coach or the coachee overlapping [starts_at, ends_at)."""
    either = _open_overlapping(_COACH_AND_COACHEE, excluding=excluding)
    return select(*either.c).order_by(either.c.starts_at).limit(1)


def _by_start(people: Sequence[Column[uuid.UUID]]) -> Select[*tuple[Any, ...]]:
    found = _open_overlapping(people)
    return select(*found.c).order_by(found.c.starts_at)


_OPEN_BETWEEN = _by_start(_COACH_AND_COACHEE)


_FIRST_CONFLICT = _first_conflict(excluding=False)
_FIRST_CONFLICT_EXCEPT = _first_conflict(excluding=True)


def _ledger_of(blocking_sessions: Select[*tuple[Any, ...]]) -> CompoundSelect[*tuple[Any, ...]]:
    """The blocking sessions (the first one, for a write) and the counts by month and status,
    in one statement.

    A blocking row has no count; a count row has no session. A write runs it after the lock,
    so both halves see every committed write of the coachee and the coach.
    """
    blocking = blocking_sessions.subquery("blocking")
    return union_all(
        select(
            blocking.c.id,
            blocking.c.coachee_id,
            blocking.c.starts_at,
            blocking.c.ends_at,
            null().label("month"),
            null().label("status"),
            null().label("n"),
        ),
        select(
            null(),
            null(),
            null(),
            null(),
            sessions.c.month,
            sessions.c.status,
            func.count(),
        )
        .where(
            sessions.c.coachee_id == bindparam("coachee_id"),
            sessions.c.month >= bindparam("first_month"),
            sessions.c.month <= bindparam("last_month"),
        )
        .group_by(sessions.c.month, sessions.c.status),
    )


_LEDGER = ReadStatement(_ledger_of(_FIRST_CONFLICT), _LedgerRow)
_LEDGER_EXCEPT = ReadStatement(_ledger_of(_FIRST_CONFLICT_EXCEPT), _LedgerRow)
# Free slots: every open session of the coach (and the coachee) in the range, with the
# coachee's counts by month; a read, nothing locked.
_BUSY_LEDGER = ReadStatement(_ledger_of(_OPEN_BETWEEN), _LedgerRow)
# The coach, and the coachee with this id (any coach's) with their program, nothing locked:
# what free slots and its access rules need, in one read, as the lock's rows (the booking
# facts with the availability as stored). The coachee's columns are null when there is no
# such coachee; no row when there is no such coach.
_COACH_WITH_COACHEE: ReadStatement[Any] = ReadStatement(
    select(*_BOOKING_FACTS)
    .select_from(coaches)
    .outerjoin(coachees, coachees.c.id == bindparam("coachee_id"))
    .outerjoin(programs, programs.c.id == coachees.c.program_id)
    .where(coaches.c.id == bindparam("coach_id")),
    _LockedBooking,
)
_USAGE = ReadStatement(
    select(sessions.c.status, func.count().label("n"))
    .where(
        sessions.c.coachee_id == bindparam("coachee_id"),
        sessions.c.month == bindparam("month"),
    )
    .group_by(sessions.c.status),
    _StatusCount,
)
# SET takes the columns named by the parameters; the b_ names are the WHERE's.
_CHANGE_WHERE_VERSION = update(sessions).where(
    sessions.c.id == bindparam("b_id"), sessions.c.version == bindparam("b_version")
)


def _values_of(table: Table, prefix: str, names: Iterable[str]) -> dict[str, Any]:
    """Bind parameters for some columns of `table`, named `prefix` + column."""
    return {name: bindparam(prefix + name, type_=table.c[name].type) for name in names}


@cache
def _recorded_write(
    kind: Literal["insert", "update"],
    columns: tuple[str, ...],
    history: tuple[str, ...],
    events_written: int,
) -> ReadStatement[WrittenSession]:
    """One PostgreSQL statement: a session's insert or update, its history entry and its
    outbox rows, answering with the session as stored and numbered.

    The history and outbox inserts are data-modifying CTEs of the same statement, so they
    commit or roll back with the write. Built once per shape, then only bound.
    """
    if kind == "insert":
        write: Any = insert(sessions).values(_values_of(sessions, "s_", columns))
    else:
        write = (
            update(sessions)
            .where(sessions.c.id == bindparam("b_id"), sessions.c.version == bindparam("b_version"))
            .values(_values_of(sessions, "s_", columns))
        )
    written = write.returning(*sessions.c).cte("written")
    entry = insert(session_history).values(_values_of(session_history, "h_", history))
    ctes = [entry.cte("entry")]
    if events_written:
        # INSERT … SELECT … UNION ALL, not a multi-row VALUES: SQLAlchemy caches the compiled
        # form of this one, and compiling costs more than the round trip saved.
        rows = [
            select(*_values_of(events, f"e{n}_", EVENT_COLUMNS).values())
            for n in range(events_written)
        ]
        outbox = insert(events).from_select(EVENT_COLUMNS, union_all(*rows))
        ctes.append(outbox.cte("outbox"))
    return ReadStatement(select(*written.c, session_number(written)).add_cte(*ctes), WrittenSession)


class SessionRepository(Repository):
    """Queries of the sessions table."""

    table = sessions

    async def numbered(self, session_id: uuid.UUID) -> NumberedSession | None:
        """One session as the API shows it."""
        return await _NUMBERED_BY_ID.one_or_none(self._connection, {"session_id": session_id})

    async def numbered_many(self, session_ids: Sequence[uuid.UUID]) -> list[NumberedSession]:
        """Several sessions as the API shows them, by start."""
        query = (
            numbered_sessions()
            .where(sessions.c.id.in_(session_ids))
            .order_by(sessions.c.starts_at, sessions.c.id)
        )
        return [NumberedSession(**row._mapping) for row in await self._connection.execute(query)]

    async def lock_for_change(self, session_id: uuid.UUID) -> SessionFacts | None:
        """A session with its coachee, program and coach, locking the coachee and coach rows.

        Every session write holds its coachee's lock, so the session row needs no lock of its
        own, and locks are always taken coachee first, then coach: no deadlock between writers.
        The booking facts are the coachee's now, with the session's own coach.
        """
        rows = await _LOCK_FOR_CHANGE.in_transaction(self._connection, {"session_id": session_id})
        if not rows:
            return None
        (row,) = rows
        return SessionFacts(
            id=row.id,
            coachee_coach_id=row.coach_id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            month=row.month,
            status=SessionStatus(row.status),
            version=row.version,
            sequence=row.sequence,
            booking=booking_facts(row, coach_id=row.session_coach_id),
        )

    async def usage(self, coachee_id: uuid.UUID, month: str) -> dict[str, int]:
        """Counts by status of one coachee's sessions in one month."""
        values = {"coachee_id": coachee_id, "month": month}
        rows = await _USAGE.in_transaction(self._connection, values)
        return {row.status: row.n for row in rows}

    async def usage_by_month(
        self, coachee_id: uuid.UUID, first_month: str, last_month: str | None = None
    ) -> dict[str, dict[str, int]]:
        """Counts by status for each month in [first_month, last_month] that has sessions."""
        query = (
            select(sessions.c.month, sessions.c.status, func.count())
            .where(sessions.c.coachee_id == coachee_id, sessions.c.month >= first_month)
            .group_by(sessions.c.month, sessions.c.status)
        )
        if last_month is not None:
            query = query.where(sessions.c.month <= last_month)
        result: dict[str, dict[str, int]] = {}
        for month, status, count in await self._connection.execute(query):
            result.setdefault(month, {})[status] = count
        return result

    async def used_by_month_for(
        self, coachee_ids: Sequence[uuid.UUID], first_months: Mapping[uuid.UUID, str]
    ) -> dict[uuid.UUID, dict[str, int]]:
        """Counting sessions per month from each coachee's first month on, in one statement."""
        if not coachee_ids:
            return {}
        earliest = min(first_months.values())
        query = (
            select(sessions.c.coachee_id, sessions.c.month, func.count())
            .where(
                sessions.c.coachee_id.in_(coachee_ids),
                sessions.c.month >= earliest,
                sessions.c.status.in_(COUNTING),
            )
            .group_by(sessions.c.coachee_id, sessions.c.month)
        )
        result: dict[uuid.UUID, dict[str, int]] = {id_: {} for id_ in coachee_ids}
        for coachee_id, month, count in await self._connection.execute(query):
            if month >= first_months[coachee_id]:
                result[coachee_id][month] = count
        return result

    async def ledger(
        self,
        *,
        coach_id: uuid.UUID,
        coachee_id: uuid.UUID,
        starts_at: datetime,
        ends_at: datetime,
        first_month: str,
        last_month: str | None,
        excluding: uuid.UUID | None,
    ) -> Ledger:
        """The first open session of the coach or coachee overlapping [starts_at, ends_at)
        (other than `excluding`), and the coachee's counts by month and status in
        [first_month, last_month], in one statement."""
        values: dict[str, Any] = {
            **_overlap_values(starts_at, ends_at),
            "coach_id": coach_id,
            "coachee_id": coachee_id,
            "first_month": first_month,
            "last_month": last_month or LAST_MONTH,
        }
        if excluding is None:
            rows = await _LEDGER.in_transaction(self._connection, values)
        else:
            values["excluding"] = excluding
            rows = await _LEDGER_EXCEPT.in_transaction(self._connection, values)
        return _ledger(rows)

    async def busy_ledger(
        self,
        *,
        coach_id: uuid.UUID,
        coachee_id: uuid.UUID | None,
        starts_at: datetime,
        ends_at: datetime,
        months: Sequence[str],
    ) -> Ledger:
        """Every open session of the coach (and the coachee) overlapping [starts_at, ends_at),
        by start, and the coachee's counts by month and status in `months` (consecutive), in
        one statement."""
        values: dict[str, Any] = {
            **_overlap_values(starts_at, ends_at),
            "coach_id": coach_id,
            "coachee_id": coachee_id,
            # No months: a range no month is in ("" sorts before every YYYY-MM).
            "first_month": months[0] if months else LAST_MONTH,
            "last_month": months[-1] if months else "",
        }
        return _ledger(await _BUSY_LEDGER.all(self._connection, values))

    async def first_conflict(
        self,
        *,
        coach_id: uuid.UUID,
        coachee_id: uuid.UUID,
        starts_at: datetime,
        ends_at: datetime,
        excluding: uuid.UUID | None = None,
    ) -> OpenSession | None:
        """An open session of the coach or the coachee that overlaps [starts_at, ends_at)."""
        values = {
            **_overlap_values(starts_at, ends_at),
            "coach_id": coach_id,
            "coachee_id": coachee_id,
        }
        if excluding is None:
            result = await self._connection.execute(_FIRST_CONFLICT, values)
        else:
            values["excluding"] = excluding
            result = await self._connection.execute(_FIRST_CONFLICT_EXCEPT, values)
        row = result.first()
        return None if row is None else _open_session(row)

    async def open_between(
        self,
        *,
        coach_id: uuid.UUID,
        coachee_id: uuid.UUID,
        starts_at: datetime,
        ends_at: datetime,
    ) -> list[OpenSession]:
        """Open sessions of the coach or the coachee overlapping [starts_at, ends_at), by start."""
        values = {
            **_overlap_values(starts_at, ends_at),
            "coach_id": coach_id,
            "coachee_id": coachee_id,
        }
        return [_open_session(row) for row in await self._connection.execute(_OPEN_BETWEEN, values)]

    async def open_ahead_of(self, coachee_id: uuid.UUID, now: datetime) -> list[SessionAhead]:
        """A coachee's requested and scheduled sessions that have not ended, by start."""
        query = (
            select(
                sessions.c.id,
                sessions.c.coachee_id,
                sessions.c.coach_id,
                sessions.c.starts_at,
                sessions.c.ends_at,
                sessions.c.month,
                sessions.c.status,
            )
            .where(
                sessions.c.coachee_id == coachee_id,
                sessions.c.status.in_(OPEN),
                sessions.c.ends_at > now,
            )
            .order_by(sessions.c.starts_at)
        )
        return [
            SessionAhead(**{**row._mapping, "status": SessionStatus(row.status)})
            for row in await self._connection.execute(query)
        ]

    async def move_to_coach(
        self, session_ids: Sequence[uuid.UUID], coach_id: uuid.UUID, now: datetime
    ) -> None:
        """Give sessions to another coach; a new organizer is a new version of each invite."""
        query = (
            update(sessions)
            .where(sessions.c.id.in_(session_ids))
            .values(
                coach_id=coach_id,
                version=sessions.c.version + 1,
                sequence=sessions.c.sequence + 1,
                updated_at=now,
            )
        )
        await self._connection.execute(query)

    async def in_months(
        self, coachee_id: uuid.UUID, months: Sequence[str]
    ) -> list[tuple[uuid.UUID, datetime, SessionStatus, str]]:
        """A coachee's sessions in some months, as (id, starts_at, status, month)."""
        query = select(
            sessions.c.id, sessions.c.starts_at, sessions.c.status, sessions.c.month
        ).where(sessions.c.coachee_id == coachee_id, sessions.c.month.in_(months))
        return [
            (row.id, row.starts_at, SessionStatus(row.status), row.month)
            for row in await self._connection.execute(query)
        ]

    async def insert(self, row: NewSessionRow) -> None:
        """Insert one session (read it back numbered with `numbered`)."""
        await self._connection.execute(insert(sessions), dict(row))

    async def insert_recorded(
        self, row: NewSessionRow, entry: HistoryRow, outbox: Sequence[NewEvent]
    ) -> WrittenSession:
        """Insert one session with its history entry and outbox rows; it comes back numbered.

        One round trip on PostgreSQL; on SQLite (in-process) one statement each.
        """
        if self._connection.dialect.name != "postgresql":
            await self.insert(row)
            return await self._recorded_on_sqlite(row["id"], entry, outbox)
        query = _recorded_write("insert", tuple(row), tuple(entry), len(outbox))
        return await self._run_recorded(query, _prefixed("s_", row), entry, outbox)

    async def change_recorded(
        self,
        session_id: uuid.UUID,
        version: int,
        values: SessionChanges,
        entry: HistoryRow,
        outbox: Sequence[NewEvent],
    ) -> WrittenSession:
        """Update a session (bumping its version) with its history entry and outbox rows; it
        comes back numbered. Every writer holds the coachee's lock, so the version stands.

        One round trip on PostgreSQL; on SQLite (in-process) one statement each.
        """
        if self._connection.dialect.name != "postgresql":
            await self.change_where_version(session_id, version, values)
            return await self._recorded_on_sqlite(session_id, entry, outbox)
        changes = {**values, "version": version + 1}
        query = _recorded_write("update", tuple(changes), tuple(entry), len(outbox))
        bound = {**_prefixed("s_", changes), "b_id": session_id, "b_version": version}
        return await self._run_recorded(query, bound, entry, outbox)

    async def _run_recorded(
        self,
        query: ReadStatement[WrittenSession],
        values: dict[str, Any],
        entry: HistoryRow,
        outbox: Sequence[NewEvent],
    ) -> WrittenSession:
        values.update(_prefixed("h_", entry))
        for n, event in enumerate(outbox):
            values.update(_prefixed(f"e{n}_", event_values(event)))
        (written,) = await query.in_transaction(self._connection, values)
        return written

    async def _recorded_on_sqlite(
        self, session_id: uuid.UUID, entry: HistoryRow, outbox: Sequence[NewEvent]
    ) -> WrittenSession:
        await self.add_history(entry)
        await EventRepository(self._connection).record_many(outbox)
        values = {"session_id": session_id}
        result = await self._connection.execute(_NUMBERED_BY_ID.statement, values)
        return typed(WrittenSession, result.one())

    async def add_many(self, rows: Sequence[NewSessionRow]) -> None:
        """Insert several sessions in one round trip."""
        await self._connection.execute(insert(sessions), [dict(row) for row in rows])

    async def add_history_many(self, entries: Sequence[HistoryRow]) -> None:
        """Record several changes in one round trip."""
        await self._connection.execute(insert(session_history), [dict(e) for e in entries])

    async def change_where_version(
        self, session_id: uuid.UUID, version: int, values: SessionChanges
    ) -> None:
        """Update a session, bumping its version."""
        await self._connection.execute(
            _CHANGE_WHERE_VERSION,
            {**values, "version": version + 1, "b_id": session_id, "b_version": version},
        )

    async def add_history(self, entry: HistoryRow) -> None:
        """Record one change of a session."""
        await self._connection.execute(insert(session_history), dict(entry))

    async def history(self, session_id: uuid.UUID) -> list[RecordedChange]:
        """A session's changes, oldest first."""
        query = (
            select(session_history)
            .where(session_history.c.session_id == session_id)
            .order_by(session_history.c.id)
        )
        return [RecordedChange(**row._mapping) for row in await self._connection.execute(query)]

    async def starts_of_coachee(
        self, coachee_id: uuid.UUID
    ) -> Sequence[tuple[uuid.UUID, datetime]]:
        """Every session of a coachee as (id, starts_at), for recomputing months."""
        query = select(sessions.c.id, sessions.c.starts_at).where(
            sessions.c.coachee_id == coachee_id
        )
        return [(row.id, row.starts_at) for row in await self._connection.execute(query)]

    async def set_months(self, months: Iterable[tuple[uuid.UUID, str]]) -> None:
        """Store recomputed months, in one executemany round trip."""
        rows = [{"session_id": id_, "new_month": month} for id_, month in months]
        if not rows:
            return
        query = (
            update(sessions)
            .where(sessions.c.id == bindparam("session_id"))
            .values(month=bindparam("new_month"))
        )
        await self._connection.execute(query, rows)


class BookingRepository(Repository):
    """The coachee, program and coach a new session is booked for, locked together."""

    table = coachees

    async def lock(self, coachee_id: uuid.UUID) -> BookingFacts | None:
        """The coachee with program and coach, locking coachee then coach until commit."""
        rows = await _LOCK_BOOKING.in_transaction(self._connection, {"coachee_id": coachee_id})
        return booking_facts(rows[0], coach_id=rows[0].coach_id) if rows else None

    async def coach_with_coachee(
        self, coach_id: uuid.UUID, coachee_id: uuid.UUID | None
    ) -> CoachWithCoachee | None:
        """The coach, with the booking facts of the coachee with this id if there is one
        (whoever their coach is), in one read and nothing locked; None without the coach."""
        values = {"coach_id": coach_id, "coachee_id": coachee_id}
        row = await _COACH_WITH_COACHEE.one_or_none(self._connection, values)
        if row is None:
            return None
        if row.coachee_id is None:
            return CoachWithCoachee(row.coach_timezone, availability_from_text(row.availability))
        facts = booking_facts(row, coach_id=row.coach_id)
        return CoachWithCoachee(facts.coach_timezone, facts.availability, facts)


@dataclass(frozen=True)
class CoachWithCoachee:
    """A coach's zone and availability, and a coachee's booking facts when one was found
    (their `coach_id` is their own coach's, perhaps another)."""

    coach_timezone: str
    availability: Availability
    coachee: BookingFacts | None = None


def _prefixed(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {prefix + name: value for name, value in values.items()}


def booking_facts(row: Any, *, coach_id: uuid.UUID) -> BookingFacts:
    """The facts of a locked booking row (its coach is the session's, when one is changed)."""
    return BookingFacts(
        coachee_id=row.coachee_id,
        coach_id=coach_id,
        coachee_name=row.coachee_name,
        coachee_timezone=row.coachee_timezone,
        coachee_status=row.coachee_status,
        sessions_per_month=row.sessions_per_month,
        session_minutes=row.session_minutes,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        late_cancel_hours=row.late_cancel_hours,
        coach_timezone=row.coach_timezone,
        availability=availability_from_text(row.availability),
    )


def _ledger(rows: Iterable[_LedgerRow]) -> Ledger:
    """A ledger statement's rows: its blocking sessions, and its counts by month and status."""
    counts: dict[str, dict[str, int]] = {}
    open_sessions = []
    for row in rows:
        if row.n is None:
            open_sessions.append(_blocking(row))
        else:
            assert row.month is not None
            assert row.status is not None
            counts.setdefault(row.month, {})[row.status] = row.n
    # A union keeps no order: the blocking sessions are put in start order here.
    open_sessions.sort(key=_by_starts_at)
    return Ledger(counts, open_sessions)


def _by_starts_at(session: OpenSession) -> datetime:
    return session.starts_at


def _open_session(row: AnyRow) -> OpenSession:
    return OpenSession(row.id, row.coachee_id, row.starts_at, row.ends_at)


def _blocking(row: _LedgerRow) -> OpenSession:
    """The open session of a ledger's blocking row (its session columns are all set)."""
    assert row.id is not None
    assert row.coachee_id is not None
    assert row.starts_at is not None
    assert row.ends_at is not None
    return OpenSession(row.id, row.coachee_id, row.starts_at, row.ends_at)
