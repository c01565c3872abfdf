"""Coachees."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from session_api.db.models import coachees
from session_api.db.repositories.base import UNSET, TableRepository, Unset


@dataclass(frozen=True)
class StoredCoachee:
    """A coachee as stored."""

    id: uuid.UUID
    name: str
    email: str
    timezone: str
    program_id: uuid.UUID
    coach_id: uuid.UUID
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CoacheeInProgram(StoredCoachee):
    """A coachee with what their default slot needs of their program."""

    sessions_per_month: int
    program_starts_on: date | None
    program_ends_on: date | None


@dataclass(frozen=True)
class NewCoachee:
    """A coachee to enrol."""

    name: str
    email: str
    timezone: str
    program_id: uuid.UUID
    coach_id: uuid.UUID
    status: str = "active"


@dataclass(frozen=True)
class CoacheeChanges:
    """What a change of a coachee sets; fields left `UNSET` stay as they are."""

    name: str | Unset = UNSET
    email: str | Unset = UNSET
    timezone: str | Unset = UNSET
    program_id: uuid.UUID | Unset = UNSET
    coach_id: uuid.UUID | Unset = UNSET
    status: str | Unset = UNSET


class CoacheeRepository(TableRepository[StoredCoachee, NewCoachee, CoacheeChanges]):
    """Queries of the coachees table."""

    table = coachees
    record = StoredCoachee

    async def page_of_coach(
        self, coach_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[StoredCoachee]:
        """A page of the coach's coachees, as `page` gives all of them."""
        return await self._page(after, limit, coachees.c.coach_id == coach_id)
