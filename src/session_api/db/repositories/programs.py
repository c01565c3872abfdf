"""Programs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from session_api.db.models import programs
from session_api.db.repositories.base import UNSET, NewValue, TableRepository


@dataclass(frozen=True, kw_only=True)
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
    """A program's new name, rules or dates; a field left `UNSET` stays as it is."""

    name: NewValue[str] = UNSET
    sessions_per_month: NewValue[int] = UNSET
    session_minutes: NewValue[int] = UNSET
    starts_on: NewValue[date | None] = UNSET
    ends_on: NewValue[date | None] = UNSET
    late_cancel_hours: NewValue[int] = UNSET
    reminder_hours: NewValue[Sequence[int]] = UNSET


@dataclass(frozen=True, kw_only=True)
class StoredProgram(NewProgram):
    """A program as stored."""

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class ProgramRepository(TableRepository[StoredProgram, NewProgram, ProgramChanges]):
    """Queries of the programs table."""

    table = programs
    record = StoredProgram
