"""Session bodies: what callers send to book and change sessions, and what they get back."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from session_api.api.schemas.availability import month_quota_fields
from session_api.api.schemas.common import InputModel, Instant, LongText
from session_api.db.repositories.sessions import NumberedSession
from session_api.domain.booking import MAX_OCCURRENCES, MAX_SESSION_MINUTES, MIN_SESSION_MINUTES
from session_api.domain.quota import DefaultSlot, MonthUsage, SessionStatus, label

DurationMinutes = Annotated[
    int,
    Field(
        ge=MIN_SESSION_MINUTES,
        le=MAX_SESSION_MINUTES,
        description="Length in minutes; defaults to the program's length.",
    ),
]
OverrideAvailability = Annotated[
    bool,
    Field(
        description="Book outside the coach's availability (coach or admin only; recorded in "
        "the history). The monthly limit and the no-overlap rule still apply."
    ),
]


class NewSessionStatus(StrEnum):
    """What a new session starts as; `completed` and `no_show` are admin backfill of the past."""

    SCHEDULED = "scheduled"
    REQUESTED = "requested"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class SessionCreate(InputModel):
    """A session to schedule, request, or (admins) record from the past."""

    coachee_id: uuid.UUID
    starts_at: Instant
    duration_minutes: DurationMinutes | None = None
    status: NewSessionStatus = NewSessionStatus.SCHEDULED
    override_availability: OverrideAvailability = False
    note: LongText | None = None


class SessionReschedule(InputModel):
    """A new time for a session; its duration stays unless given."""

    starts_at: Instant
    duration_minutes: DurationMinutes | None = None
    override_availability: OverrideAvailability = False
    message: LongText | None = None


class SessionCancel(InputModel):
    """Why the session is cancelled; both people see the message."""

    message: Annotated[LongText, Field(min_length=1)]


class SessionConfirm(InputModel):
    """Confirm a requested session (coach or admin)."""

    override_availability: bool = Field(
        default=False,
        deprecated=True,
        description="Ignored: confirming never checks the coach's availability.",
    )
    message: LongText | None = None


class SessionMark(InputModel):
    """Mark a session that has started as completed or as a no-show."""

    message: LongText | None = None


class Cancellation(BaseModel):
    """Who cancelled, when and why."""

    by: str
    at: datetime
    message: str | None


class SessionRead(BaseModel):
    """A session, numbered within its coachee's month ("Session N of M")."""

    id: uuid.UUID
    coachee_id: uuid.UUID
    coach_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    status: SessionStatus
    month: str = Field(description="YYYY-MM of `starts_at` in the coachee's time zone.")
    session_number: int | None = Field(description="Null once cancelled.")
    sessions_per_month: int
    label: str | None = Field(examples=["Session 2 of 2"])
    created_by: str
    note: str | None
    cancellation: Cancellation | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: NumberedSession) -> SessionRead:
        """Build from a row of `numbered_sessions()`, validating once."""
        return cls.model_validate(session_fields(row))


def session_fields(row: NumberedSession) -> dict[str, object]:
    """The fields of `SessionRead` from a numbered session."""
    number = row.session_number
    per_month = row.sessions_per_month
    starts_at, ends_at = row.starts_at, row.ends_at
    return {
        "id": row.id,
        "coachee_id": row.coachee_id,
        "coach_id": row.coach_id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "duration_minutes": int((ends_at - starts_at).total_seconds() // 60),
        "status": row.status,
        "month": row.month,
        "session_number": number,
        "sessions_per_month": per_month,
        "label": None if number is None else label(number, per_month),
        "created_by": row.created_by,
        "note": row.note,
        "cancellation": None
        if row.cancelled_at is None
        else {"by": row.cancelled_by, "at": row.cancelled_at, "message": row.cancel_message},
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


class Moment(BaseModel):
    """A session's time and status before or after a change."""

    starts_at: datetime | None
    ends_at: datetime | None
    status: SessionStatus | None


class HistoryEntry(BaseModel):
    """One change of a session."""

    at: datetime
    actor: str = Field(examples=["coach:6a1f…"], description="`role:id` of who did it.")
    action: str = Field(examples=["rescheduled"])
    from_: Moment | None = Field(alias="from", serialization_alias="from")
    to: Moment | None
    message: str | None
    override_availability: bool

    model_config = {"populate_by_name": True}


class MonthUsageRead(BaseModel):
    """One month of a coachee: the limit, what is used, and counts by status."""

    month: str
    limit: int
    used: int
    remaining: int
    full: bool
    requested: int
    scheduled: int
    completed: int
    no_show: int
    late_cancelled: int
    cancelled: int


def month_usage_fields(usage: MonthUsage) -> dict[str, object]:
    """The fields of `MonthUsageRead` from a month's usage, ready for JSON."""
    return {**month_quota_fields(usage), **usage.as_counts()}


class DefaultSlotRead(BaseModel):
    """Where the schedule dialog opens."""

    month: str
    session_number: int
    sessions_per_month: int
    label: str = Field(examples=["Session 2 of 2"])


def default_slot_fields(slot: DefaultSlot) -> dict[str, object]:
    """The fields of `DefaultSlotRead` from a default slot, ready for JSON."""
    return {
        "month": slot.month,
        "session_number": slot.session_number,
        "sessions_per_month": slot.sessions_per_month,
        "label": slot.label,
    }


class Recurrence(InputModel):
    """The same local wall-clock time (coachee's zone) every few weeks."""

    first_starts_at: Instant
    every_weeks: Annotated[int, Field(ge=1, le=8)]
    count: Annotated[int, Field(ge=1, le=MAX_OCCURRENCES)]


class SessionBatch(InputModel):
    """Up to 24 sessions for one coachee: a list of starts, or a weekly recurrence."""

    coachee_id: uuid.UUID
    starts_at: Annotated[list[Instant], Field(min_length=1, max_length=MAX_OCCURRENCES)] | None = (
        None
    )
    recurrence: Recurrence | None = None
    duration_minutes: DurationMinutes | None = None
    status: Literal["scheduled", "requested"] = "scheduled"
    override_availability: OverrideAvailability = False
    note: LongText | None = None
    dry_run: bool = Field(default=False, description="Answer 200 with the plan and write nothing.")

    @model_validator(mode="after")
    def _one_way_of_saying_when(self) -> SessionBatch:
        if (self.starts_at is None) == (self.recurrence is None):
            raise ValueError("give either starts_at (a list) or recurrence, not both")
        return self


class OccurrenceRead(BaseModel):
    """One planned session: where it falls and whether it can be booked."""

    starts_at: datetime | None = Field(
        description="Null when the local time does not exist that day (clocks skip it)."
    )
    month: str | None
    session_number: int | None
    label: str | None
    ok: bool
    code: str | None
    detail: str | None


class BatchPlan(BaseModel):
    """A dry run: what would be booked, occurrence by occurrence."""

    ok: bool
    occurrences: list[OccurrenceRead]
