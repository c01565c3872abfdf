"""The usage report (SPEC §1.7): each coachee's sessions per month, by what became of them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
    true,
    tuple_,
    union_all,
)

from session_api.db.models import coachees, programs, sessions
from session_api.db.repositories.base import AnyRow, Repository
from session_api.db.repositories.sessions import OPEN
from session_api.domain.quota import MonthUsage, SessionStatus

# Where a page ends: the last item's (coachee name, coachee id, month).
ReportPosition = tuple[str, uuid.UUID, str]


@dataclass(frozen=True)
class UsageScope:
    """Which coachees and months the report covers; every set filter narrows it."""

    months: Sequence[str]
    now: datetime
    program_id: uuid.UUID | None = None
    coach_id: uuid.UUID | None = None
    coachee_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class CoacheeMonth:
    """One coachee's sessions in one of their months, counted by what became of them."""

    coachee_id: uuid.UUID
    coachee_name: str
    program_id: uuid.UUID
    coach_id: uuid.UUID
    month: str
    allowance: int
    counts: Mapping[str, int]
    unmarked: int
    ahead: int

    @property
    def used(self) -> int:
        """The scheduling count of §1.2, by the one rule that defines it."""
        return MonthUsage(self.month, self.allowance, self.counts).used


_STATUSES = tuple(status.value for status in SessionStatus)
_NOW = bindparam("now", type_=sessions.c.ends_at.type)
_ENDED = sessions.c.ends_at <= _NOW
# A count per status, plus the two the report splits off by time: open sessions that ended
# without being marked, and open sessions still ahead.
_COUNTS: dict[str, ColumnElement[Any]] = {
    **{status: sessions.c.status == status for status in _STATUSES},
    "unmarked": (sessions.c.status == SessionStatus.SCHEDULED.value) & _ENDED,
    "ahead": sessions.c.status.in_(OPEN) & ~_ENDED,
}


def _coachee_month(row: AnyRow) -> CoacheeMonth:
    # Positional: the statement's columns are the identity, then `_COUNTS` in order.
    coachee_id, name, program_id, coach_id, month, allowance, *counts = row
    return CoacheeMonth(
        coachee_id=coachee_id,
        coachee_name=name,
        program_id=program_id,
        coach_id=coach_id,
        month=month,
        allowance=allowance,
        counts=dict(zip(_STATUSES, counts, strict=False)),
        unmarked=counts[-2],
        ahead=counts[-1],
    )


def _report(
    scope: UsageScope, *, after: ReportPosition | None, coachee_limit: int | None
) -> Select[Any]:
    """Coachee-months of the scope in (name, id, month) order, after a position."""
    chosen_query = select(
        coachees.c.id, coachees.c.name, coachees.c.program_id, coachees.c.coach_id
    )
    if scope.program_id is not None:
        chosen_query = chosen_query.where(coachees.c.program_id == scope.program_id)
    if scope.coach_id is not None:
        chosen_query = chosen_query.where(coachees.c.coach_id == scope.coach_id)
    if scope.coachee_id is not None:
        chosen_query = chosen_query.where(coachees.c.id == scope.coachee_id)
    if after is not None:
        # The coachee of the last item may still have months to list.
        chosen_query = chosen_query.where(tuple_(coachees.c.name, coachees.c.id) >= after[:2])
    if coachee_limit is not None:
        chosen_query = chosen_query.order_by(coachees.c.name, coachees.c.id).limit(coachee_limit)
    chosen = chosen_query.cte("chosen")

    month_rows = [select(literal(month, String(7)).label("month")) for month in scope.months]
    months = (union_all(*month_rows) if len(month_rows) > 1 else month_rows[0]).subquery("months")

    counts = (
        select(
            sessions.c.coachee_id,
            sessions.c.month,
            *(func.count(case((condition, 1))).label(name) for name, condition in _COUNTS.items()),
        )
        .join(chosen, chosen.c.id == sessions.c.coachee_id)
        .where(sessions.c.month.between(scope.months[0], scope.months[-1]))
        .group_by(sessions.c.coachee_id, sessions.c.month)
        .subquery("counts")
    )
    query = (
        select(
            chosen.c.id.label("coachee_id"),
            chosen.c.name.label("coachee_name"),
            chosen.c.program_id,
            chosen.c.coach_id,
            months.c.month,
            programs.c.sessions_per_month.label("allowance"),
            *(func.coalesce(counts.c[name], 0).label(name) for name in _COUNTS),
        )
        .select_from(chosen)
        .join(months, true())
        .join(programs, programs.c.id == chosen.c.program_id)
        .outerjoin(
            counts,
            and_(counts.c.coachee_id == chosen.c.id, counts.c.month == months.c.month),
        )
        .order_by(chosen.c.name, chosen.c.id, months.c.month)
    )
    if after is not None:
        query = query.where(tuple_(chosen.c.name, chosen.c.id, months.c.month) > after)
    return query.params(now=scope.now)


class ReportRepository(Repository):
    """Read-only queries behind the usage report."""

    table = coachees

    async def usage_page(
        self, scope: UsageScope, *, after: ReportPosition | None, limit: int
    ) -> list[CoacheeMonth]:
        """Up to `limit + 1` coachee-months after a position, in one statement."""
        # Every coachee has one item per month, so this many coachees always fill the page
        # (the first may be half listed already).
        coachee_limit = -(-(limit + 1) // len(scope.months)) + 1
        query = _report(scope, after=after, coachee_limit=coachee_limit).limit(limit + 1)
        return [_coachee_month(row) for row in await self._connection.execute(query)]

    async def stream_usage(
        self, scope: UsageScope, *, batch_size: int
    ) -> AsyncIterator[list[CoacheeMonth]]:
        """Every coachee-month of the scope, in batches; memory stays at one batch.

        PostgreSQL runs one statement on a server-side cursor (the unit of work must be in a
        transaction); SQLite pages through keyset batches in its read transaction.
        """
        if self._connection.dialect.name == "postgresql":
            query = _report(scope, after=None, coachee_limit=None)
            result = await self._connection.stream(query.execution_options(yield_per=batch_size))
            async for partition in result.partitions():
                yield [_coachee_month(row) for row in partition]
            return
        after: ReportPosition | None = None
        while True:
            rows = await self.usage_page(scope, after=after, limit=batch_size)
            if rows:
                yield rows[:batch_size]
            if len(rows) <= batch_size:
                return
            last = rows[batch_size - 1]
            after = (last.coachee_name, last.coachee_id, last.month)
