"""A coachee's months: usage against the limit, and where the next session would go."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from session_api.auth import Principal
from session_api.domain import booking, quota
from session_api.domain.months import add_months, month_of, months_between, parse_month
from session_api.domain.quota import DefaultSlot, MonthUsage, ProgramWindow
from session_api.errors import NoMonthWithRoom, ValidationProblem
from session_api.services import access
from session_api.services.context import Context

MAX_MONTHS = 24
DEFAULT_MONTHS = 6


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
    async with ctx.reading() as uow:
        coachee = await access.visible_coachee(uow, principal, coachee_id)
        program = await uow.programs.get(coachee.program_id)
        assert program is not None
        this_month = month_of(ctx.now(), ZoneInfo(coachee.timezone))
        first = parse_month(first) if first else this_month
        last = parse_month(last) if last else add_months(first, DEFAULT_MONTHS - 1)
        span = month_span(first, last)
        counts = await uow.sessions.usage_by_month(coachee_id, first, last)
    limit = program.sessions_per_month
    return [MonthUsage(month, limit, counts.get(month, {})) for month in span]


async def default_slot(ctx: Context, principal: Principal, coachee_id: uuid.UUID) -> DefaultSlot:
    """The earliest month from now (or the program's start) with room, as "Session N of M".

    A coachee who is not active has none: 409 `coachee_inactive`.
    """
    async with ctx.reading() as uow:
        coachee = await access.visible_coachee(uow, principal, coachee_id)
        booking.ensure_active(coachee.name, coachee.status)
        program = await uow.programs.get(coachee.program_id)
        assert program is not None
        window = ProgramWindow.from_dates(program.starts_on, program.ends_on)
        today = month_of(ctx.now(), ZoneInfo(coachee.timezone))
        first = max(today, window.first_month or today)
        counts = await uow.sessions.usage_by_month(coachee_id, first, window.last_month)
    limit = program.sessions_per_month
    used = {month: MonthUsage(month, limit, by_status).used for month, by_status in counts.items()}
    slot = quota.default_slot(today, window, used, limit)
    if slot is None:
        raise NoMonthWithRoom(
            f"{coachee.name} has no month with room left within the program"
            + (f" (it ends in {window.last_month})." if window.last_month else ".")
        )
    return slot
