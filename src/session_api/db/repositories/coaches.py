"""Coaches."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update

from session_api.db.models import coaches
from session_api.db.repositories.base import UNSET, NewValue, TableRepository
from session_api.domain.availability import Availability, AvailabilityJson, availability_to_json


@dataclass(frozen=True, kw_only=True)
class NewCoach:
    """A coach to create; availability starts empty."""

    name: str
    email: str
    timezone: str


@dataclass(frozen=True)
class CoachChanges:
    """A coach's new name, e-mail or time zone; a field left `UNSET` stays as it is."""

    name: NewValue[str] = UNSET
    email: NewValue[str] = UNSET
    timezone: NewValue[str] = UNSET


@dataclass(frozen=True, kw_only=True)
class StoredCoach(NewCoach):
    """A coach as stored, availability in its JSON shape."""

    id: uuid.UUID
    availability: AvailabilityJson
    calendar_key_sha256: str | None
    created_at: datetime
    updated_at: datetime


class CoachRepository(TableRepository[StoredCoach, NewCoach, CoachChanges]):
    """Queries of the coaches table."""

    table = coaches
    record = StoredCoach

    async def set_availability(self, coach_id: uuid.UUID, availability: Availability) -> None:
        """Replace a coach's availability."""
        await self._connection.execute(
            update(coaches)
            .where(coaches.c.id == coach_id)
            .values(availability=availability_to_json(availability))
        )

    async def set_calendar_key(self, coach_id: uuid.UUID, sha256: str, *, now: datetime) -> None:
        """Replace the digest of the secret in a coach's calendar URL."""
        await self._connection.execute(
            update(coaches)
            .where(coaches.c.id == coach_id)
            .values(calendar_key_sha256=sha256, updated_at=now)
        )
