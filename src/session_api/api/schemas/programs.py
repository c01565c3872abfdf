"""Program bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import Field, model_validator

from session_api.api.schemas.common import InputModel, Name, OutputModel
from session_api.domain.booking import MAX_SESSION_MINUTES, MIN_SESSION_MINUTES

SessionsPerMonth = Annotated[
    int, Field(ge=1, le=31, description="M: sessions allowed per calendar month.")
]
SessionMinutes = Annotated[
    int,
    Field(
        ge=MIN_SESSION_MINUTES,
        le=MAX_SESSION_MINUTES,
        description="Default session length in minutes.",
    ),
]
LateCancelHours = Annotated[
    int,
    Field(
        ge=0,
        le=720,
        description="A cancel less than this many hours before the start keeps counting "
        "(`late_cancelled`); 0 turns it off.",
    ),
]
FirstDay = Annotated[
    date | None, Field(description="First day (inclusive), in the coachee's time zone.")
]
LastDay = Annotated[
    date | None, Field(description="Last day (inclusive), in the coachee's time zone.")
]


class ProgramCreate(InputModel):
    """A new program."""

    name: Name
    sessions_per_month: SessionsPerMonth
    session_minutes: SessionMinutes = 60
    starts_on: FirstDay = None
    ends_on: LastDay = None
    late_cancel_hours: LateCancelHours = 0

    @model_validator(mode="after")
    def _ends_after_start(self) -> ProgramCreate:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class ProgramUpdate(InputModel):
    """Changes to a program; fields left out stay as they are.

    Lowering `sessions_per_month` never cancels anything: an over-full month simply accepts
    nothing new until it drops below the limit.
    """

    name: Name | None = None
    sessions_per_month: SessionsPerMonth | None = None
    session_minutes: SessionMinutes | None = None
    starts_on: FirstDay = None
    ends_on: LastDay = None
    late_cancel_hours: LateCancelHours | None = None


class ProgramRead(OutputModel):
    """A program."""

    id: uuid.UUID
    name: str
    sessions_per_month: int
    session_minutes: int
    starts_on: date | None
    ends_on: date | None
    late_cancel_hours: int
    created_at: datetime
    updated_at: datetime
