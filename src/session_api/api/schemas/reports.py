"""The usage report's item, as JSON and as a CSV row."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from session_api.db.repositories.reports import CoacheeMonth

EXAMPLE: dict[str, Any] = {
    "coachee_id": "6f1c2a4e-3b7d-4f0a-9c51-2d8e7b6a1f30",
    "coachee_name": "Maia",
    "program_id": "0b9e4d2c-8a17-4c3f-b6e5-91f2a7c4d803",
    "coach_id": "c3a85f64-5717-4562-b3fc-2c963f66afa6",
    "month": "2026-11",
    "allowance": 2,
    "completed": 1,
    "no_show": 1,
    "late_cancelled": 0,
    "cancelled": 1,
    "unmarked": 0,
    "ahead": 0,
    "used": 2,
}


class UsageItem(BaseModel):
    """One coachee's month: what took place, what is still open, and the scheduling count."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    coachee_id: uuid.UUID
    coachee_name: str
    program_id: uuid.UUID
    coach_id: uuid.UUID = Field(description="The coachee's coach.")
    month: str = Field(description="YYYY-MM in the coachee's time zone.")
    allowance: int = Field(description="The program's sessions per month (M).")
    completed: int
    no_show: int
    late_cancelled: int
    cancelled: int
    unmarked: int = Field(description="Scheduled sessions that ended and were never marked.")
    ahead: int = Field(description="Requested and scheduled sessions that have not ended.")
    used: int = Field(description="The scheduling count of the monthly limit (not billing).")


CSV_COLUMNS = tuple(UsageItem.model_fields)
CSV_EXAMPLE = "".join(
    ",".join(line) + "\r\n" for line in (CSV_COLUMNS, (str(EXAMPLE[c]) for c in CSV_COLUMNS))
)


def usage_values(row: CoacheeMonth) -> tuple[Any, ...]:
    """A report row's values in the order of `CSV_COLUMNS` (and of the JSON item)."""
    return (
        row.coachee_id,
        row.coachee_name,
        row.program_id,
        row.coach_id,
        row.month,
        row.allowance,
        row.counts["completed"],
        row.counts["no_show"],
        row.counts["late_cancelled"],
        row.counts["cancelled"],
        row.unmarked,
        row.ahead,
        row.used,
    )


def usage_item(row: CoacheeMonth) -> UsageItem:
    """A report row as JSON."""
    return UsageItem.model_validate(dict(zip(CSV_COLUMNS, usage_values(row), strict=True)))
