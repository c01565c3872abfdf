"""Programs, coaches and coachees: the records sessions hang on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from session_api.auth import Principal, Role
from session_api.db.repositories.base import UNSET, NewValue, changed_values, patched
from session_api.db.repositories.coachees import CoacheeChanges, NewCoachee, StoredCoachee
from session_api.db.repositories.coaches import CoachChanges, NewCoach, StoredCoach
from session_api.db.repositories.programs import NewProgram, ProgramChanges, StoredProgram
from session_api.db.unit_of_work import UnitOfWork
from session_api.domain import booking
from session_api.domain.booking import OpenSession, Placement
from session_api.domain.months import month_of
from session_api.errors import Forbidden, ValidationProblem
from session_api.services import access
from session_api.services.changes import Change, Moment, record
from session_api.services.context import Context

# What a coach may change on their own coachees; enrolment stays with admins.
COACH_EDITABLE_COACHEE_FIELDS = frozenset({"name", "email", "timezone", "status"})


async def create_program(ctx: Context, principal: Principal, new: NewProgram) -> StoredProgram:
    """Create a program (admins only)."""
    principal.require_admin()
    async with ctx.writing() as uow:
        program = await uow.programs.add(new)
        await uow.commit()
    return program


async def get_program(ctx: Context, principal: Principal, program_id: uuid.UUID) -> StoredProgram:
    """One program the caller may see."""
    async with ctx.reading() as uow:
        return await access.visible_program(uow, principal, program_id)


async def list_programs(
    ctx: Context, principal: Principal, *, after: uuid.UUID | None, limit: int
) -> Sequence[StoredProgram]:
    """Programs by id: all for admins and coaches, their own for a coachee."""
    async with ctx.reading() as uow:
        only: list[uuid.UUID] | None = None
        if principal.role is Role.COACHEE:
            coachee = await uow.coachees.get(principal.person_id())
            only = [coachee.program_id] if coachee else []
        return await uow.programs.page(after=after, limit=limit, only=only)


async def update_program(
    ctx: Context, principal: Principal, program_id: uuid.UUID, changes: ProgramChanges
) -> StoredProgram:
    """Change a program; lowering the monthly limit never cancels anything."""
    async with ctx.writing() as uow:
        program = await access.visible_program(uow, principal, program_id)
        principal.require_admin()
        starts_on = patched(changes.starts_on, program.starts_on)
        ends_on = patched(changes.ends_on, program.ends_on)
        if starts_on and ends_on and ends_on < starts_on:
            raise ValidationProblem("ends_on must not be before starts_on.")
        updated = await uow.programs.change(program_id, changes)
        assert updated is not None
        await uow.commit()
    return updated


async def create_coach(ctx: Context, principal: Principal, new: NewCoach) -> StoredCoach:
    """Create a coach with no availability yet (admins only)."""
    principal.require_admin()
    async with ctx.writing() as uow:
        coach = await uow.coaches.add(new)
        await uow.commit()
    return coach


async def get_coach(ctx: Context, principal: Principal, coach_id: uuid.UUID) -> StoredCoach:
    """One coach the caller may see."""
    async with ctx.reading() as uow:
        return await access.visible_coach(uow, principal, coach_id)


async def list_coaches(
    ctx: Context, principal: Principal, *, after: uuid.UUID | None, limit: int
) -> Sequence[StoredCoach]:
    """Coaches by id: all for admins; a coach sees themselves, a coachee their coach."""
    async with ctx.reading() as uow:
        only: list[uuid.UUID] | None = None
        if principal.role is Role.COACH:
            only = [principal.person_id()]
        elif principal.role is Role.COACHEE:
            coachee = await uow.coachees.get(principal.person_id())
            only = [coachee.coach_id] if coachee else []
        return await uow.coaches.page(after=after, limit=limit, only=only)


async def update_coach(
    ctx: Context, principal: Principal, coach_id: uuid.UUID, changes: CoachChanges
) -> StoredCoach:
    """Change a coach's name, e-mail or time zone (admins only)."""
    async with ctx.writing() as uow:
        await access.visible_coach(uow, principal, coach_id)
        principal.require_admin()
        updated = await uow.coaches.change(coach_id, changes)
        assert updated is not None
        await uow.commit()
    return updated


async def create_coachee(ctx: Context, principal: Principal, new: NewCoachee) -> StoredCoachee:
    """Enrol a coachee in a program with a coach (admins only)."""
    principal.require_admin()
    async with ctx.writing() as uow:
        await _ensure_references(uow, program_id=new.program_id, coach_id=new.coach_id)
        coachee = await uow.coachees.add(new)
        await uow.commit()
    return coachee


async def get_coachee(ctx: Context, principal: Principal, coachee_id: uuid.UUID) -> StoredCoachee:
    """One coachee the caller may see."""
    async with ctx.reading() as uow:
        return await access.visible_coachee(uow, principal, coachee_id)


async def list_coachees(
    ctx: Context, principal: Principal, *, after: uuid.UUID | None, limit: int
) -> Sequence[StoredCoachee]:
    """Coachees by id: all for admins, a coach's own, a coachee themselves."""
    async with ctx.reading() as uow:
        if principal.role is Role.COACH:
            return await uow.coachees.page_of_coach(principal.person_id(), after=after, limit=limit)
        if principal.role is Role.COACHEE:
            return await uow.coachees.page(after=after, limit=limit, only=[principal.person_id()])
        return await uow.coachees.page(after=after, limit=limit)


async def update_coachee(
    ctx: Context, principal: Principal, coachee_id: uuid.UUID, changes: CoacheeChanges
) -> StoredCoachee:
    """Change a coachee, in one transaction with what follows from it.

    A new time zone recomputes their sessions' months; a new coach takes over their
    sessions ahead (refused with 409 `time_conflict` while the new coach is busy then).
    """
    async with ctx.writing() as uow:
        coachee = await access.visible_coachee(uow, principal, coachee_id, for_update=True)
        if principal.role is Role.COACHEE or (
            principal.role is Role.COACH
            and not changed_values(changes).keys() <= COACH_EDITABLE_COACHEE_FIELDS
        ):
            raise Forbidden("Only an admin may change this coachee's enrolment.")
        await _ensure_references(uow, program_id=changes.program_id, coach_id=changes.coach_id)
        new_coach_id = patched(changes.coach_id, coachee.coach_id)
        if new_coach_id != coachee.coach_id:
            await _hand_over_sessions(uow, principal, coachee, new_coach_id, ctx.now())
        updated = await uow.coachees.change(coachee_id, changes)
        assert updated is not None
        if updated.timezone != coachee.timezone:
            zone = ZoneInfo(updated.timezone)
            starts = await uow.sessions.starts_of_coachee(coachee_id)
            await uow.sessions.set_months((id_, month_of(at, zone)) for id_, at in starts)
        await uow.commit()
    return updated


async def _hand_over_sessions(
    uow: UnitOfWork,
    principal: Principal,
    coachee: StoredCoachee,
    coach_id: uuid.UUID,
    now: datetime,
) -> None:
    """Give the coachee's sessions ahead to their new coach, unless the new coach is busy then.

    Sessions in the past stay with the coach who held them. The coachee's lock is held, so
    no session of theirs changes meanwhile; the new coach's lock keeps their calendar still.
    """
    await uow.coaches.get(coach_id, for_update=True)
    ahead = await uow.sessions.open_ahead_of(coachee.id, now)
    if not ahead:
        return
    moving = [OpenSession(s.id, s.coachee_id, s.starts_at, s.ends_at) for s in ahead]
    around = await uow.sessions.open_between(
        coach_id=coach_id,
        coachee_id=coachee.id,
        starts_at=min(session.starts_at for session in ahead),
        ends_at=max(session.ends_at for session in ahead),
    )
    booking.ensure_coach_free(coachee.name, moving, around)
    await uow.sessions.move_to_coach([session.id for session in ahead], coach_id, now)
    handed_over = []
    for session in ahead:
        moment = Moment(
            Placement(session.starts_at, session.ends_at, session.month), session.status
        )
        handed_over.append(
            Change(
                session.id,
                session.coachee_id,
                "reassigned",
                before=moment,
                after=moment,
                event_type=None,  # None of the contract's event types describes a hand-over.
                message=f"Coach changed from {session.coach_id} to {coach_id}.",
            )
        )
    await record(uow, principal, now, handed_over)


async def _ensure_references(
    uow: UnitOfWork, *, program_id: NewValue[uuid.UUID], coach_id: NewValue[uuid.UUID]
) -> None:
    if program_id is not UNSET and await uow.programs.get(program_id) is None:
        raise ValidationProblem(f"program_id {program_id} names no program.")
    if coach_id is not UNSET and await uow.coaches.get(coach_id) is None:
        raise ValidationProblem(f"coach_id {coach_id} names no coach.")
