"""The coach's views: next, every future and unmarked sessions, coachees with nothing ahead."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    BindParameter,
    Boolean,
    ColumnElement,
    Integer,
    and_,
    bindparam,
    func,
    select,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import ScalarSelect
from sqlalchemy.sql.visitors import InternalTraversal

from session_api.db.models import coachees, programs, sessions
from session_api.db.precompiled import ReadStatement
from session_api.db.repositories.base import Repository, typed
from session_api.db.repositories.coachees import CoacheeInProgram
from session_api.db.repositories.sessions import OPEN, NumberedSession, numbered_sessions
from session_api.domain.quota import SessionStatus

# The sessions a coachee has ahead, looked at from a query over coachees; served by the
# (coachee_id, starts_at) index.
_ahead = sessions.alias("ahead")


@dataclass(frozen=True)
class FutureSessions:
    """Which sessions a page lists, seen at `now`; every set field narrows it.

    `statuses` applies to the sessions ahead; the unmarked view lists scheduled ones only.
    """

    now: datetime
    statuses: Sequence[str] = tuple(OPEN)
    coach_id: uuid.UUID | None = None
    coachee_id: uuid.UUID | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    # Visibility: only the sessions of this coach's coachees.
    coachees_of: uuid.UUID | None = None


@dataclass(frozen=True, kw_only=True)
class CoacheeMonthRow(CoacheeInProgram):
    """A coachee with their program's rules, and one (month, status) count of their sessions."""

    month: str | None
    session_status: str | None
    sessions: int


@dataclass(frozen=True)
class CoacheeMonths:
    """A coachee with their program's rules and session counts by month and status."""

    coachee: CoacheeInProgram
    counts: dict[str, dict[str, int]]


# A coachee, their program and their sessions' counts by (month, status) within a month range,
# in one statement: the months and default-slot reads are one round trip. A coachee without
# sessions in the range is one row with a null month.
_COACHEE_MONTHS = ReadStatement(
    select(
        *coachees.c,
        programs.c.sessions_per_month,
        programs.c.starts_on.label("program_starts_on"),
        programs.c.ends_on.label("program_ends_on"),
        sessions.c.month,
        sessions.c.status.label("session_status"),
        func.count(sessions.c.id).label("sessions"),
    )
    .select_from(
        coachees.join(programs, programs.c.id == coachees.c.program_id).outerjoin(
            sessions,
            and_(
                sessions.c.coachee_id == coachees.c.id,
                sessions.c.month >= bindparam("first_month"),
                sessions.c.month <= bindparam("last_month"),
            ),
        )
    )
    .where(coachees.c.id == bindparam("coachee_id"))
    # By primary key: the other columns depend on it (and JSON ones have no equality).
    .group_by(coachees.c.id, programs.c.id, sessions.c.month, sessions.c.status),
    CoacheeMonthRow,
)
_COACHEE_FIELDS = tuple(field.name for field in fields(CoacheeInProgram))


def _open_ahead_of_coachee(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    return (
        (_ahead.c.coachee_id == coachees.c.id)
        & _ahead.c.status.in_(OPEN)
        & (_ahead.c.starts_at > now)
    )


def _value(name: str, column: ColumnElement[Any]) -> BindParameter[Any]:
    """A parameter typed like the column it is compared with (dates stay UTC on SQLite)."""
    return bindparam(name, type_=column.type)


class _AmongFirsts(ColumnElement[bool]):
    """`column IN (subquery)`; on PostgreSQL `column = ANY(ARRAY(subquery))`.

    Joined to the subquery of each coachee's first session (a correlated subquery, whose
    output PostgreSQL cannot estimate), sessions were hashed from a sequential scan up to
    some 100,000 rows (0.8 ms a request at 5,000 sessions); as an array computed first, the
    primary key finds the rows (0.4 ms), whatever the table's size.
    """

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("subquery", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], subquery: ScalarSelect[Any]) -> None:
        self.column = column
        self.subquery = subquery


@compiles(_AmongFirsts)
def _among_firsts(element: _AmongFirsts, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.subquery.element), **kw)


@compiles(_AmongFirsts, "postgresql")
def _among_firsts_postgresql(element: _AmongFirsts, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY(ARRAY{compiler.process(element.subquery, **kw)})"


# The hot views are built once per shape of their filters; a request only binds values.
@cache
def _next_sessions_query(for_one_coachee: bool) -> ReadStatement[NumberedSession]:
    # One index probe per coachee (a portable stand-in for LATERAL ... LIMIT 1): the cost
    # follows the number of coachees, not the number of sessions they have ahead.
    earliest = (
        select(_ahead.c.id)
        .where(_open_ahead_of_coachee(_value("now", sessions.c.starts_at)))
        .order_by(_ahead.c.starts_at, _ahead.c.id)
        .limit(1)
        .correlate(coachees)
        .scalar_subquery()
    )
    firsts = select(earliest).where(
        coachees.c.coach_id == _value("coach_id", coachees.c.coach_id),
        coachees.c.status == "active",
    )
    if for_one_coachee:
        firsts = firsts.where(coachees.c.id == _value("coachee_id", coachees.c.id))
    return ReadStatement(
        numbered_sessions()
        # Uncorrelated: the coach's coachees, not the row's own.
        .where(_AmongFirsts(sessions.c.id, firsts.correlate(None).scalar_subquery()))
        .order_by(sessions.c.starts_at, sessions.c.id),
        NumberedSession,
    )


_PageView = Literal["future", "unmarked"]


@cache
def _session_page_query(view: _PageView, filters: frozenset[str]) -> ReadStatement[NumberedSession]:
    if view == "future":
        query = numbered_sessions().where(
            sessions.c.status.in_(bindparam("statuses", expanding=True)),
            sessions.c.starts_at > _value("now", sessions.c.starts_at),
        )
    else:
        # Served by the partial index of scheduled sessions: marked history is never walked.
        query = numbered_sessions().where(
            sessions.c.status == SessionStatus.SCHEDULED.value,
            sessions.c.ends_at <= _value("now", sessions.c.ends_at),
        )
    query = query.order_by(sessions.c.starts_at, sessions.c.id).limit(
        bindparam("limit", type_=Integer())
    )
    conditions = {
        "coach_id": sessions.c.coach_id == _value("coach_id", sessions.c.coach_id),
        "coachee_id": sessions.c.coachee_id == _value("coachee_id", sessions.c.coachee_id),
        "coachees_of": coachees.c.coach_id == _value("coachees_of", coachees.c.coach_id),
        "starts_from": sessions.c.starts_at >= _value("starts_from", sessions.c.starts_at),
        "starts_before": sessions.c.starts_at < _value("starts_before", sessions.c.starts_at),
        "after": tuple_(sessions.c.starts_at, sessions.c.id)
        > tuple_(
            _value("after_starts_at", sessions.c.starts_at), _value("after_id", sessions.c.id)
        ),
    }
    return ReadStatement(
        query.where(*(conditions[name] for name in sorted(filters))), NumberedSession
    )


class ViewRepository(Repository):
    """Read-only queries behind the dashboard views; each answers in one statement."""

    table = sessions

    async def next_sessions(
        self, *, coach_id: uuid.UUID, now: datetime, coachee_id: uuid.UUID | None = None
    ) -> list[NumberedSession]:
        """Each active coachee's earliest open session after `now`, numbered, by start."""
        values: dict[str, Any] = {"coach_id": coach_id, "now": now}
        if coachee_id is not None:
            values["coachee_id"] = coachee_id
        return await _next_sessions_query(coachee_id is not None).all(self._connection, values)

    async def coachee_months(
        self, coachee_id: uuid.UUID, *, first_month: str, last_month: str
    ) -> CoacheeMonths | None:
        """A coachee with their program, and session counts of each month in the range."""
        values = {"coachee_id": coachee_id, "first_month": first_month, "last_month": last_month}
        rows = await _COACHEE_MONTHS.all(self._connection, values)
        if not rows:
            return None
        counts: dict[str, dict[str, int]] = {}
        for row in rows:
            if row.month is not None and row.session_status is not None:
                counts.setdefault(row.month, {})[row.session_status] = row.sessions
        first = rows[0]
        coachee = CoacheeInProgram(**{name: getattr(first, name) for name in _COACHEE_FIELDS})
        return CoacheeMonths(coachee=coachee, counts=counts)

    async def future_sessions(
        self, where: FutureSessions, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[NumberedSession]:
        """Up to `limit + 1` numbered sessions by (starts_at, id) after a position."""
        return await self._session_page("future", where, after=after, limit=limit)

    async def unmarked_sessions(
        self, where: FutureSessions, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[NumberedSession]:
        """Up to `limit + 1` scheduled sessions that ended by `now`, oldest first."""
        return await self._session_page("unmarked", where, after=after, limit=limit)

    async def _session_page(
        self,
        view: _PageView,
        where: FutureSessions,
        *,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[NumberedSession]:
        narrowing = {
            "coach_id": where.coach_id,
            "coachee_id": where.coachee_id,
            "coachees_of": where.coachees_of,
            "starts_from": where.starts_from,
            "starts_before": where.starts_before,
        }
        values: dict[str, Any] = {
            name: value for name, value in narrowing.items() if value is not None
        }
        filters = set(values)
        if after is not None:
            filters.add("after")
            values["after_starts_at"], values["after_id"] = after
        values.update(now=where.now, limit=limit + 1)
        if view == "future":
            values["statuses"] = list(where.statuses)
        query = _session_page_query(view, frozenset(filters))
        return await query.all(self._connection, values)

    async def unscheduled_coachees(
        self,
        *,
        coach_id: uuid.UUID,
        now: datetime,
        coachee_id: uuid.UUID | None = None,
        after: tuple[str, uuid.UUID] | None,
        limit: int,
    ) -> list[CoacheeInProgram]:
        """Up to `limit + 1` active coachees with no open session after `now`, by (name, id)."""
        nothing_ahead = ~select(_ahead.c.id).where(_open_ahead_of_coachee(now)).exists()
        query = (
            select(
                *coachees.c,
                programs.c.sessions_per_month,
                programs.c.starts_on.label("program_starts_on"),
                programs.c.ends_on.label("program_ends_on"),
            )
            .join(programs, programs.c.id == coachees.c.program_id)
            .where(coachees.c.coach_id == coach_id, coachees.c.status == "active", nothing_ahead)
            .order_by(coachees.c.name, coachees.c.id)
            .limit(limit + 1)
        )
        if coachee_id is not None:
            query = query.where(coachees.c.id == coachee_id)
        if after is not None:
            query = query.where(tuple_(coachees.c.name, coachees.c.id) > after)
        return [typed(CoacheeInProgram, row) for row in await self._connection.execute(query)]
