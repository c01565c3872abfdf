"""Program bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from session_api.api.schemas.common import InputModel, Name, OutputModel
from session_api.domain.booking import MAX_SESSION_MINUTES, MIN_SESSION_MINUTES
from session_api.domain.reminders import (
    MAX_REMINDER_HOURS,
    MAX_REMINDERS,
    MIN_REMINDER_HOURS,
    refuse_repeated_hours,
)

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
ReminderHours = Annotated[
    list[Annotated[int, Field(ge=MIN_REMINDER_HOURS, le=MAX_REMINDER_HOURS)]],
    Field(
        max_length=MAX_REMINDERS,
        description="Lead times of the reminders before each requested or scheduled session, "
        f"in hours ({MIN_REMINDER_HOURS}..{MAX_REMINDER_HOURS}, at most {MAX_REMINDERS}, "
        "distinct; stored ascending). When `starts_at` minus a lead time has come, the worker "
        "e-mails both people and emits `session.reminder_due`, once per session, lead time "
        "and start; a reminder that could only go out after more than half of its lead time "
        "has passed is skipped. Empty (the default): no reminders.",
        examples=[[24, 1]],
    ),
    AfterValidator(refuse_repeated_hours),
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
    reminder_hours: ReminderHours = []

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
    reminder_hours: ReminderHours | None = None


class ProgramRead(OutputModel):
    """A program."""

    id: uuid.UUID
    name: str
    sessions_per_month: int
    session_minutes: int
    starts_on: date | None
    ends_on: date | None
    late_cancel_hours: int
    reminder_hours: list[int]
    created_at: datetime
    updated_at: datetime
