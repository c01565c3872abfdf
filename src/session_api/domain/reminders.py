"""Reminders before a session: which lead times a program may set, and when one is due.

A reminder with lead time h is due once `starts_at - h` has come. It is sent while less than
half of h has passed since then; later (the worker was down, or the session was booked at
short notice) it is skipped and recorded, never sent late.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from session_api.domain.quota import OPEN_STATUSES

MIN_REMINDER_HOURS = 1
MAX_REMINDER_HOURS = 168
MAX_REMINDERS = 3


@dataclass(frozen=True)
class ReminderWindow:
    """For one lead time at one instant: the sessions whose reminder has come.

    A session starting in `(now, due_until]` has its reminder come; if it starts before
    `send_from`, more than half of the lead time has passed, so the reminder is skipped.
    Sessions that already began are left alone.
    """

    lead_hours: int
    now: datetime
    send_from: datetime
    due_until: datetime


class ReminderOutcome(StrEnum):
    """What became of a reminder that came: written to the outbox, or skipped as too late."""

    SENT = "sent"
    SKIPPED = "skipped"


def reminder_window(lead_hours: int, now: datetime) -> ReminderWindow:
    """The window of sessions whose reminder with this lead time has come at `now`."""
    if now.utcoffset() is None:
        raise ValueError("now must carry a UTC offset")
    lead = timedelta(hours=lead_hours)
    return ReminderWindow(
        lead_hours=lead_hours, now=now, send_from=now + lead / 2, due_until=now + lead
    )


def still_applies(status: str, starts_at: datetime, reminded_starts_at: datetime) -> bool:
    """Whether a reminder that came still describes the session (not cancelled, not moved).

    A reschedule plans a reminder afresh (a new start is a new reminder) and a cancel drops
    it, also when the mail of one that already came has not gone out yet.
    """
    return status in OPEN_STATUSES and starts_at == reminded_starts_at


def refuse_repeated_hours(hours: Sequence[int]) -> list[int]:
    """Lead times are distinct: two reminders at the same moment would be one too many."""
    if len(set(hours)) != len(hours):
        raise ValueError("reminder_hours must not repeat a lead time")
    return sorted(hours)
