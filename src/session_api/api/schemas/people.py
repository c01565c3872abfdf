"""Coach and coachee bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import EmailStr

from session_api.api.schemas.common import InputModel, Name, OutputModel, TimeZoneName


class CoacheeStatus(StrEnum):
    """Only active coachees get new sessions."""

    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class CoachCreate(InputModel):
    """A new coach; availability is set with `PUT /v1/coaches/{id}/availability`."""

    name: Name
    email: EmailStr
    timezone: TimeZoneName


class CoachUpdate(InputModel):
    """Changes to a coach."""

    name: Name | None = None
    email: EmailStr | None = None
    timezone: TimeZoneName | None = None


class CoachRead(OutputModel):
    """A coach."""

    id: uuid.UUID
    name: str
    email: str
    timezone: str
    created_at: datetime
    updated_at: datetime


class CoacheeCreate(InputModel):
    """A new coachee, enrolled in a program with a coach."""

    name: Name
    email: EmailStr
    timezone: TimeZoneName
    program_id: uuid.UUID
    coach_id: uuid.UUID
    status: CoacheeStatus = CoacheeStatus.ACTIVE


class CoacheeUpdate(InputModel):
    """Changes to a coachee; a new time zone moves their sessions' months with it."""

    name: Name | None = None
    email: EmailStr | None = None
    timezone: TimeZoneName | None = None
    program_id: uuid.UUID | None = None
    coach_id: uuid.UUID | None = None
    status: CoacheeStatus | None = None


class CoacheeRead(OutputModel):
    """A coachee."""

    id: uuid.UUID
    name: str
    email: str
    timezone: str
    program_id: uuid.UUID
    coach_id: uuid.UUID
    status: CoacheeStatus
    created_at: datetime
    updated_at: datetime
