"""Availability and free-slot bodies: wall-clock windows in the coach's zone, slots in UTC."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from session_api.api.schemas.common import InputModel
from session_api.domain.availability import MAX_OVERRIDES, MAX_WINDOWS_PER_DAY, WEEKDAYS
from session_api.domain.booking import FreeSlot
from session_api.domain.quota import MonthUsage

# [0-9], not \d: \d also matches other scripts' digits.
_START_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_END_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class Weekday(StrEnum):
    """A day of the week, by its English name in lower case."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


def _clock_checker(pattern: str, latest: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(text: str) -> str:
        if compiled.fullmatch(text) is None:
            raise PydanticCustomError(
                "clock_time",
                "'{text}' is not a time of day; write it as HH:MM from 00:00 to {latest}",
                {"text": text[:40], "latest": latest},
            )
        return text

    return AfterValidator(check)


def _iso_date_text(value: object) -> object:
    # Pydantic alone would also take "2026-12-24T00:00:00" or a Unix timestamp as a date.
    if not isinstance(value, str) or re.fullmatch(_DATE_PATTERN, value) is None:
        raise PydanticCustomError(
            "calendar_date",
            "'{value}' is not a date; write it as YYYY-MM-DD, e.g. 2026-12-24",
            {"value": str(value)[:40]},
        )
    return value


StartClock = Annotated[
    str,
    Field(json_schema_extra={"pattern": _START_PATTERN}, examples=["09:00"]),
    _clock_checker(_START_PATTERN, "23:59"),
]
EndClock = Annotated[
    str,
    Field(
        json_schema_extra={"pattern": _END_PATTERN},
        examples=["12:00"],
        description='Wall-clock end; "24:00" is the midnight that ends the day.',
    ),
    _clock_checker(_END_PATTERN, "24:00"),
]
CalendarDate = Annotated[date, BeforeValidator(_iso_date_text)]


class WindowBody(InputModel):
    """A span of wall-clock time in the coach's zone, from `start` up to (not including) `end`."""

    start: StartClock
    end: EndClock


class WeeklyWindowBody(WindowBody):
    """A window that recurs on one weekday."""

    weekday: Weekday


class DateOverrideBody(InputModel):
    """The windows of one date, replacing its weekday's; no windows makes it a day off."""

    date: CalendarDate
    windows: list[WindowBody] = Field(max_length=MAX_WINDOWS_PER_DAY)


class AvailabilityBody(InputModel):
    """A coach's weekly windows and date overrides, in the coach's time zone."""

    weekly: list[WeeklyWindowBody] = Field(
        default_factory=list, max_length=MAX_WINDOWS_PER_DAY * len(WEEKDAYS)
    )
    overrides: list[DateOverrideBody] = Field(default_factory=list, max_length=MAX_OVERRIDES)


class WindowRead(BaseModel):
    """A stored window."""

    start: str = Field(examples=["09:00"])
    end: str = Field(examples=["12:00"])


class WeeklyWindowRead(WindowRead):
    """A stored weekly window."""

    weekday: Weekday


class DateOverrideRead(BaseModel):
    """A stored date override; no windows is a day off."""

    date: date
    windows: list[WindowRead]


class AvailabilityRead(BaseModel):
    """A coach's availability as stored: weekly windows by weekday and start, overrides by date."""

    weekly: list[WeeklyWindowRead]
    overrides: list[DateOverrideRead]


class FreeSlotRead(BaseModel):
    """A bookable time; `month` and `month_full` are set only when a coachee was named."""

    starts_at: datetime
    ends_at: datetime
    month: str | None = Field(examples=["2026-12"])
    month_full: bool | None


def free_slot_fields(slot: FreeSlot) -> dict[str, object]:
    """The fields of `FreeSlotRead` from a free slot, ready for JSON."""
    return {
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "month": slot.month,
        "month_full": slot.month_full,
    }


class MonthQuotaRead(BaseModel):
    """One month of the coachee's allowance, in the coachee's time zone."""

    month: str = Field(examples=["2026-12"])
    limit: int
    used: int
    remaining: int
    full: bool


def month_quota_fields(usage: MonthUsage) -> dict[str, object]:
    """The fields of `MonthQuotaRead` from a month's usage, ready for JSON."""
    return {
        "month": usage.month,
        "limit": usage.limit,
        "used": usage.used,
        "remaining": usage.remaining,
        "full": usage.full,
    }


class FreeSlotsRead(BaseModel):
    """Free slots in time order; `months` is empty unless a coachee was named."""

    items: list[FreeSlotRead]
    months: list[MonthQuotaRead]
