"""The types of events the service emits, on webhooks and the event feed alike."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """What happened: to a session, or to a coachee's month."""

    SESSION_SCHEDULED = "session.scheduled"
    SESSION_REQUESTED = "session.requested"
    SESSION_CONFIRMED = "session.confirmed"
    SESSION_RESCHEDULED = "session.rescheduled"
    SESSION_CANCELLED = "session.cancelled"
    SESSION_COMPLETED = "session.completed"
    SESSION_NO_SHOW = "session.no_show"
    COACHEE_MONTH_FULL = "coachee.month_full"
    COACHEE_MONTH_AVAILABLE = "coachee.month_available"
    SESSION_REMINDER_DUE = "session.reminder_due"
