"""The coach's views (SPEC §1.5): next, ahead, left to mark, and coachees with nothing ahead."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from session_api.auth import Principal, Role
from session_api.db.repositories.coachees import CoacheeInProgram
from session_api.db.repositories.sessions import OPEN, NumberedSession
from session_api.db.repositories.views import FutureSessions
from session_api.domain.months import month_of
from session_api.domain.quota import DefaultSlot, ProgramWindow, default_slot
from session_api.errors import ValidationProblem
from session_api.services import access
from session_api.services.context import Context


@dataclass(frozen=True)
class UnscheduledCoachee:
    """An active coachee with nothing ahead, and where their schedule dialog opens."""

    coachee: CoacheeInProgram
    default_slot: DefaultSlot | None


async def next_sessions(
    ctx: Context, principal: Principal, coach_id: uuid.UUID
) -> Sequence[NumberedSession]:
    """Each active coachee's earliest future open session; a coachee gets only their own."""
    access.refuse_other_coach(principal, coach_id)
    async with ctx.reading() as uow:
        rows = await uow.views.next_sessions(
            coach_id=coach_id, now=ctx.now(), coachee_id=_only_coachee(principal)
        )
        # Rows are the coach's coachees' (a coachee's only their own): they prove the coach
        # exists and is in sight, so only an empty list needs the coach read to tell 404 apart.
        if not rows:
            await access.visible_coach(uow, principal, coach_id)
        return rows


async def listed_sessions(
    ctx: Context,
    principal: Principal,
    *,
    view: Literal["all-future", "unmarked"] = "all-future",
    coach_id: uuid.UUID | None = None,
    coachee_id: uuid.UUID | None = None,
    statuses: Sequence[str] | None = None,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> Sequence[NumberedSession]:
    """Up to `limit + 1` sessions of a view the caller may see; filters only narrow them.

    `all-future`: open sessions ahead; `unmarked`: scheduled sessions that ended unmarked.
    """
    where = _visible(
        ctx,
        principal,
        coach_id=coach_id,
        coachee_id=coachee_id,
        statuses=statuses,
        starts_from=starts_from,
        starts_before=starts_before,
    )
    if where is None:
        return []
    async with ctx.reading() as uow:
        if view == "unmarked":
            return await uow.views.unmarked_sessions(where, after=after, limit=limit)
        return await uow.views.future_sessions(where, after=after, limit=limit)


def _visible(
    ctx: Context,
    principal: Principal,
    *,
    coach_id: uuid.UUID | None,
    coachee_id: uuid.UUID | None,
    statuses: Sequence[str] | None = None,
    starts_from: datetime | None,
    starts_before: datetime | None,
) -> FutureSessions | None:
    """The sessions the caller may see, narrowed by the filters; None when nothing is left."""
    if starts_from and starts_before and starts_before <= starts_from:
        raise ValidationProblem("`to` must lie after `from`.")
    if principal.role is Role.COACHEE:
        own = principal.person_id()
        if coachee_id not in (None, own):
            return None
        coachee_id = own
    return FutureSessions(
        now=ctx.now(),
        statuses=statuses or OPEN,
        coach_id=coach_id,
        coachee_id=coachee_id,
        starts_from=starts_from,
        starts_before=starts_before,
        coachees_of=principal.person_id() if principal.role is Role.COACH else None,
    )


async def unscheduled_coachees(
    ctx: Context,
    principal: Principal,
    coach_id: uuid.UUID,
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[UnscheduledCoachee]:
    """Up to `limit + 1` active coachees with nothing ahead, each with its default slot."""
    now = ctx.now()
    async with ctx.reading() as uow:
        await access.visible_coach(uow, principal, coach_id)
        rows = await uow.views.unscheduled_coachees(
            coach_id=coach_id,
            now=now,
            coachee_id=_only_coachee(principal),
            after=after,
            limit=limit,
        )
        today = {row.id: month_of(now, ZoneInfo(row.timezone)) for row in rows}
        windows = {
            row.id: ProgramWindow.from_dates(row.program_starts_on, row.program_ends_on)
            for row in rows
        }
        first_months = {
            id_: max(month, windows[id_].first_month or month) for id_, month in today.items()
        }
        used = await uow.sessions.used_by_month_for(list(today), first_months)
    return [
        UnscheduledCoachee(
            row,
            default_slot(today[row.id], windows[row.id], used[row.id], row.sessions_per_month),
        )
        for row in rows
    ]


def _only_coachee(principal: Principal) -> uuid.UUID | None:
    return principal.person_id() if principal.role is Role.COACHEE else None
