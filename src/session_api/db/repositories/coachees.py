"""Coachees."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from session_api.db.models import coachees
from session_api.db.repositories.base import UNSET, NewValue, TableRepository


@dataclass(frozen=True, kw_only=True)
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
    """A coachee's new details or enrolment; a field left `UNSET` stays as it is."""

    name: NewValue[str] = UNSET
    email: NewValue[str] = UNSET
    timezone: NewValue[str] = UNSET
    program_id: NewValue[uuid.UUID] = UNSET
    coach_id: NewValue[uuid.UUID] = UNSET
    status: NewValue[str] = UNSET


@dataclass(frozen=True, kw_only=True)
class StoredCoachee(NewCoachee):
    """A coachee as stored."""

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class CoacheeInProgram(StoredCoachee):
    """A coachee with what their default slot needs of their program."""

    sessions_per_month: int
    program_starts_on: date | None
    program_ends_on: date | None


class CoacheeRepository(TableRepository[StoredCoachee, NewCoachee, CoacheeChanges]):
    """Queries of the coachees table."""

    table = coachees
    record = StoredCoachee

    async def page_of_coach(
        self, coach_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[StoredCoachee]:
        """A page of the coach's coachees, as `page` gives all of them."""
        return await self._page(after, limit, coachees.c.coach_id == coach_id)
