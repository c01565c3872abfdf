"""Programs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from session_api.db.models import programs
from session_api.db.repositories.base import UNSET, TableRepository, Unset


@dataclass(frozen=True)
class StoredProgram:
    """A program as stored."""

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


@dataclass(frozen=True)
class NewProgram:
    """A program to create."""

    name: str
    sessions_per_month: int
    session_minutes: int = 60
    starts_on: date | None = None
    ends_on: date | None = None
    late_cancel_hours: int = 0
    reminder_hours: Sequence[int] = ()


@dataclass(frozen=True)
class ProgramChanges:
    """What a change of a program sets; fields left `UNSET` stay as they are."""

    name: str | Unset = UNSET
    sessions_per_month: int | Unset = UNSET
    session_minutes: int | Unset = UNSET
    starts_on: date | Unset | None = UNSET
    ends_on: date | Unset | None = UNSET
    late_cancel_hours: int | Unset = UNSET
    reminder_hours: Sequence[int] | Unset = UNSET


class ProgramRepository(TableRepository[StoredProgram, NewProgram, ProgramChanges]):
    """Queries of the programs table."""

    table = programs
    record = StoredProgram
