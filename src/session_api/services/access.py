"""Who may see what (SPEC §2): another tenant's resource is 404, never 403."""

from __future__ import annotations

import uuid
from typing import Protocol, TypeVar

from session_api.auth import Principal, Role
from session_api.db.repositories.coachees import StoredCoachee
from session_api.db.repositories.coaches import StoredCoach
from session_api.db.repositories.programs import StoredProgram
from session_api.db.unit_of_work import UnitOfWork
from session_api.errors import NotFound


class _Enrolled(Protocol):
    """A coachee as read with anything else: what seeing them depends on."""

    @property
    def coach_id(self) -> uuid.UUID:
        """The coachee's own coach."""
        ...


CoacheeT = TypeVar("CoacheeT", bound=_Enrolled)
CoachT = TypeVar("CoachT")


def not_found(kind: str, id_: object) -> NotFound:
    """The one answer for unknown and invisible resources alike."""
    return NotFound(f"No {kind} with id {id_} exists.")


def parse_id(kind: str, raw: str) -> uuid.UUID:
    """A path id; a malformed one is as unknown as a missing one."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise not_found(kind, raw) from None


def may_see(principal: Principal, coachee_id: uuid.UUID, coach_id: uuid.UUID) -> bool:
    """Admins see every session, a coach those of their coachees, a coachee their own."""
    if principal.role is Role.COACH:
        return principal.person_id() == coach_id
    if principal.role is Role.COACHEE:
        return principal.person_id() == coachee_id
    return True


async def visible_coachee(
    uow: UnitOfWork, principal: Principal, coachee_id: uuid.UUID, *, for_update: bool = False
) -> StoredCoachee:
    """The coachee if the caller may see it: admins all, coaches theirs, coachees themselves."""
    if principal.role is Role.COACHEE and principal.person_id() != coachee_id:
        raise not_found("coachee", coachee_id)
    return coachee_in_sight(
        principal, coachee_id, await uow.coachees.get(coachee_id, for_update=for_update)
    )


def coachee_in_sight(
    principal: Principal, coachee_id: uuid.UUID, coachee: CoacheeT | None
) -> CoacheeT:
    """The coachee (read with anything else) if the caller may see it, else 404."""
    if coachee is None or not may_see(principal, coachee_id, coachee.coach_id):
        raise not_found("coachee", coachee_id)
    return coachee


def refuse_other_coach(principal: Principal, coach_id: uuid.UUID) -> None:
    """A coach sees no other coach: 404, decided without reading anything."""
    if principal.role is Role.COACH and principal.person_id() != coach_id:
        raise not_found("coach", coach_id)


async def visible_coach(
    uow: UnitOfWork, principal: Principal, coach_id: uuid.UUID, *, for_update: bool = False
) -> StoredCoach:
    """The coach if the caller may see it: admins all, coaches themselves, coachees theirs."""
    refuse_other_coach(principal, coach_id)
    callers_coach = None
    if principal.role is Role.COACHEE:
        coachee = await uow.coachees.get(principal.person_id())
        callers_coach = None if coachee is None else coachee.coach_id
        # Decided before the coach is read (and perhaps locked).
        refuse_not_own_coach(principal, coach_id, callers_coach)
    coach = await uow.coaches.get(coach_id, for_update=for_update)
    return coach_in_sight(principal, coach_id, coach, callers_coach)


def refuse_not_own_coach(
    principal: Principal, coach_id: uuid.UUID, callers_coach: uuid.UUID | None
) -> None:
    """A coachee sees only their own coach: `callers_coach`, as read (None if not found)."""
    if principal.role is Role.COACHEE and callers_coach != coach_id:
        raise not_found("coach", coach_id)


def coach_in_sight(
    principal: Principal, coach_id: uuid.UUID, coach: CoachT | None, callers_coach: uuid.UUID | None
) -> CoachT:
    """The coach (read with anything else) if the caller may see it, else 404.

    Admins see every coach, a coach themself, a coachee their own coach: `callers_coach`, the
    calling coachee's coach as read (None when the coachee was not found).
    """
    refuse_other_coach(principal, coach_id)
    refuse_not_own_coach(principal, coach_id, callers_coach)
    if coach is None:
        raise not_found("coach", coach_id)
    return coach


async def visible_program(
    uow: UnitOfWork, principal: Principal, program_id: uuid.UUID
) -> StoredProgram:
    """The program if the caller may see it: admins and coaches all, coachees their own."""
    if principal.role is Role.COACHEE:
        coachee = await uow.coachees.get(principal.person_id())
        if coachee is None or coachee.program_id != program_id:
            raise not_found("program", program_id)
    program = await uow.programs.get(program_id)
    if program is None:
        raise not_found("program", program_id)
    return program
