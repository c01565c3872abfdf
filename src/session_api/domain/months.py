"""Calendar months as plain "YYYY-MM" strings, seen from a coachee's time zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from session_api.errors import ValidationProblem

# [0-9], not \d: \d also matches other scripts' digits, which int() would then accept.
_MONTH_PATTERN = re.compile(r"([0-9]{4})-([0-9]{2})")
# Spelled out rather than strftime("%B"), which follows the process locale.
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_FIRST_INDEX = 1 * 12
_LAST_INDEX = 9999 * 12 + 11
LAST_MONTH = "9999-12"  # datetime stops at year 9999, so open-ended searches stop here too


def parse_month(text: str) -> str:
    """Return `text` if it names a month as YYYY-MM, else raise ValidationProblem."""
    match = _MONTH_PATTERN.fullmatch(text)
    if match is None or int(match[1]) < 1 or not 1 <= int(match[2]) <= 12:
        raise ValidationProblem(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2026-12.")
    return text


def month_of(instant: datetime, zone: ZoneInfo) -> str:
    """Return the month in which `instant` falls on a wall calendar in `zone`."""
    if instant.utcoffset() is None:
        raise ValueError("month_of needs a time-zone-aware datetime")
    return month_of_date(instant.astimezone(zone).date())


def month_of_date(day: date) -> str:
    """Return the month a calendar date belongs to."""
    return f"{day.year:04d}-{day.month:02d}"


def add_months(month: str, n: int) -> str:
    """Return the month `n` months after `month` (before it when `n` is negative)."""
    return _month_at(_index(month) + n)


def months_between(first: str, last: str) -> list[str]:
    """Return every month from `first` to `last`, both included; empty when `first` is later."""
    return [_month_at(i) for i in range(_index(first), _index(last) + 1)]


def month_start_utc(month: str, zone: ZoneInfo) -> datetime:
    """Return the first instant of `month` in `zone` (local midnight on the 1st), in UTC."""
    year, number = divmod(_index(month), 12)
    # fold=0 is the first instant of the day in both DST edge cases: an ambiguous midnight
    # (clocks turned back) reads as its first occurrence, and a skipped midnight (clocks turned
    # forward at 00:00) reads with the old offset, which is exactly the instant the gap ends.
    return datetime(year, number + 1, 1, tzinfo=zone, fold=0).astimezone(UTC)


def month_end_utc(month: str, zone: ZoneInfo) -> datetime:
    """Return the first instant after `month` in `zone`, in UTC (exclusive end)."""
    return month_start_utc(add_months(month, 1), zone)


def month_title(month: str) -> str:
    """Return the month as people write it, e.g. "December 2026"."""
    year, number = divmod(_index(month), 12)
    return f"{MONTH_NAMES[number]} {year}"


def _index(month: str) -> int:
    year, number = parse_month(month).split("-")
    return int(year) * 12 + int(number) - 1


def _month_at(index: int) -> str:
    if not _FIRST_INDEX <= index <= _LAST_INDEX:
        raise ValueError("month out of range: years run from 1 to 9999")
    year, number = divmod(index, 12)
    return f"{year:04d}-{number + 1:02d}"
