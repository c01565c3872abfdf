"""A coachee's months: usage against the limit, and where the next session would go."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from session_api.auth import Principal
from session_api.domain import booking, quota
from session_api.domain.months import add_months, month_of, months_between, parse_month
from session_api.domain.quota import DefaultSlot, MonthUsage, ProgramWindow
from session_api.errors import DomainError, NoMonthWithRoom, ValidationProblem
from session_api.services import access
from session_api.services.context import Context

MAX_MONTHS = 24
DEFAULT_MONTHS = 6
# Every zone's local time lies within 14 hours of UTC: bounds for "this month" in any zone,
# so the coachee, the program and the counts are read together before the zone is known.
_WIDEST_OFFSET = timedelta(hours=14)
_LAST_MONTH = "9999-12"
_UTC = ZoneInfo("UTC")


def month_span(first: str, last: str) -> list[str]:
    """Every month from `first` to `last`; 422 `validation_error` unless it is 1..24 months."""
    span = months_between(parse_month(first), parse_month(last))
    if not span:
        raise ValidationProblem(f"`to` ({last}) is before `from` ({first}).")
    if len(span) > MAX_MONTHS:
        raise ValidationProblem(
            f"At most {MAX_MONTHS} months at once; {first} to {last} is {len(span)}."
        )
    return span


async def months(
    ctx: Context,
    principal: Principal,
    coachee_id: uuid.UUID,
    *,
    first: str | None,
    last: str | None,
) -> list[MonthUsage]:
    """Usage of each month in [first, last] (default: this month and the five after it)."""
    now = ctx.now()
    lowest, highest = _month_bounds(now, first, last)
    async with ctx.reading() as uow:
        found = await uow.views.coachee_months(coachee_id, first_month=lowest, last_month=highest)
    coachee = access.coachee_in_sight(principal, coachee_id, found.coachee if found else None)
    assert found is not None
    this_month = month_of(now, ZoneInfo(coachee.timezone))
    first = parse_month(first) if first else this_month
    last = parse_month(last) if last else add_months(first, DEFAULT_MONTHS - 1)
    span = month_span(first, last)
    limit = coachee.sessions_per_month
    return [MonthUsage(month, limit, found.counts.get(month, {})) for month in span]


def _month_bounds(now: datetime, first: str | None, last: str | None) -> tuple[str, str]:
    """Months that surely hold the asked range whatever the coachee's zone (YYYY-MM text)."""
    lowest = first or month_of(now - _WIDEST_OFFSET, _UTC)
    if last is not None:
        return lowest, last
    try:
        start = parse_month(first) if first else month_of(now + _WIDEST_OFFSET, _UTC)
        return lowest, add_months(start, DEFAULT_MONTHS - 1)
    except DomainError:
        # A malformed month is refused once the coachee is known to be visible.
        return lowest, _LAST_MONTH


async def default_slot(ctx: Context, principal: Principal, coachee_id: uuid.UUID) -> DefaultSlot:
    """The earliest month from now (or the program's start) with room, as "Session N of M".

    A coachee who is not active has none: 409 `coachee_inactive`.
    """
    now = ctx.now()
    async with ctx.reading() as uow:
        found = await uow.views.coachee_months(
            coachee_id, first_month=month_of(now - _WIDEST_OFFSET, _UTC), last_month=_LAST_MONTH
        )
    coachee = access.coachee_in_sight(principal, coachee_id, found.coachee if found else None)
    assert found is not None
    booking.ensure_active(coachee.name, coachee.status)
    window = ProgramWindow.from_dates(coachee.program_starts_on, coachee.program_ends_on)
    today = month_of(now, ZoneInfo(coachee.timezone))
    first = max(today, window.first_month or today)
    limit = coachee.sessions_per_month
    used = {
        month: quota.places_taken(by_status)
        for month, by_status in found.counts.items()
        if month >= first and (window.last_month is None or month <= window.last_month)
    }
    slot = quota.default_slot(today, window, used, limit)
    if slot is None:
        raise NoMonthWithRoom(
            f"{coachee.name} has no month with room left within the program"
            + (f" (it ends in {window.last_month})." if window.last_month else ".")
        )
    return slot
