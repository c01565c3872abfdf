"""The usage report (SPEC §1.7): what took place per coachee and month, for whoever may see it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from session_api.auth import Principal, Role
from session_api.db.repositories.reports import CoacheeMonth, ReportPosition, UsageScope
from session_api.services.allowance import month_span
from session_api.services.context import Context

# Coachee-months per streamed batch: the memory a CSV download holds at once.
STREAM_BATCH_SIZE = 1000


@dataclass(frozen=True)
class UsageQuery:
    """What the caller asked for: a month range and filters that only narrow it."""

    first_month: str
    last_month: str
    program_id: uuid.UUID | None = None
    coach_id: uuid.UUID | None = None
    coachee_id: uuid.UUID | None = None

    def months(self) -> list[str]:
        """Every month of the range; 422 `validation_error` unless it is 1..24 months long."""
        return month_span(self.first_month, self.last_month)


def _scope(ctx: Context, principal: Principal, query: UsageQuery) -> UsageScope | None:
    """The coachees and months the caller may see, or None when the filters leave nothing.

    Filters only narrow what the caller may see: naming someone out of sight gives an empty
    report, never a 404, as the session lists do.
    """
    months = query.months()
    coach_id, coachee_id = query.coach_id, query.coachee_id
    if principal.role is not Role.ADMIN:
        own = principal.person_id()
        mine = coach_id if principal.role is Role.COACH else coachee_id
        if mine not in (None, own):
            return None
        if principal.role is Role.COACH:
            coach_id = own
        else:
            coachee_id = own
    return UsageScope(
        months=months,
        now=ctx.now(),
        program_id=query.program_id,
        coach_id=coach_id,
        coachee_id=coachee_id,
    )


async def usage_page(
    ctx: Context,
    principal: Principal,
    query: UsageQuery,
    *,
    after: ReportPosition | None,
    limit: int,
) -> list[CoacheeMonth]:
    """Up to `limit + 1` coachee-months by (coachee name, id, month), after a position."""
    scope = _scope(ctx, principal, query)
    if scope is None:
        return []
    async with ctx.reading() as uow:
        return await uow.reports.usage_page(scope, after=after, limit=limit)


def usage_stream(
    ctx: Context, principal: Principal, query: UsageQuery
) -> AsyncGenerator[list[CoacheeMonth], None]:
    """Every coachee-month the caller may see, in batches, read from one snapshot.

    The query is checked at once (422 before anything is sent); the rows are read while the
    caller iterates, so the whole report never sits in memory.
    """
    scope = _scope(ctx, principal, query)
    return _batches(ctx, scope)


async def _batches(
    ctx: Context, scope: UsageScope | None
) -> AsyncGenerator[list[CoacheeMonth], None]:
    if scope is None:
        return
    async with ctx.streaming() as uow:
        async for batch in uow.reports.stream_usage(scope, batch_size=STREAM_BATCH_SIZE):
            yield batch
