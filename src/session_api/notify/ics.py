"""iCalendar for sessions: the per-session invite and a coach's subscription feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from icalendar import Calendar, Event, vCalAddress, vDuration
from icalendar.enums import STATUS

PRODID = "-//Session API//Coaching sessions//EN"
UID_DOMAIN = "session-api"
FEED_REFRESH = timedelta(hours=1)

SESSION_STATUSES = frozenset(
    {"requested", "scheduled", "completed", "no_show", "late_cancelled", "cancelled"}
)
CANCELLED_STATUSES = frozenset({"cancelled", "late_cancelled"})
# Only these are live scheduling requests; a finished session is published, not re-requested.
OPEN_STATUSES = frozenset({"requested", "scheduled"})

_EVENT_STATUS: dict[str, STATUS] = {
    "requested": STATUS.TENTATIVE,
    "scheduled": STATUS.CONFIRMED,
    # The time was held and the session took place (or was due to): still a confirmed event.
    "completed": STATUS.CONFIRMED,
    "no_show": STATUS.CONFIRMED,
    "late_cancelled": STATUS.CANCELLED,
    "cancelled": STATUS.CANCELLED,
}


@dataclass(frozen=True)
class InviteSession:
    """What a calendar invite and a notification need to know about one session."""

    session_id: UUID
    sequence: int
    status: str
    starts_at: datetime
    ends_at: datetime
    label: str | None
    note: str | None
    coach_name: str
    coach_email: str
    coachee_name: str
    coachee_email: str
    updated_at: datetime

    def __post_init__(self) -> None:
        """Refuse values that would yield a wrong or floating-time calendar."""
        if self.status not in SESSION_STATUSES:
            raise ValueError(f"unknown session status {self.status!r}")
        if self.sequence < 0:
            raise ValueError("sequence must not be negative")
        for name in ("starts_at", "ends_at", "updated_at"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{name} must carry a UTC offset")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")

    @property
    def is_cancelled(self) -> bool:
        """Whether calendars should drop this session."""
        return self.status in CANCELLED_STATUSES


def uid_for(session_id: UUID) -> str:
    """The iCalendar UID of a session, the same for its whole life."""
    return f"{session_id}@{UID_DOMAIN}"


def summary_for(session: InviteSession) -> str:
    """The event title, e.g. "Coaching: Maia with Ana (Session 2 of 4)"."""
    title = f"Coaching: {session.coachee_name} with {session.coach_name}"
    return f"{title} ({session.label})" if session.label else title


def invite_method(session: InviteSession) -> str:
    """The iTIP method for the session's invite: REQUEST, CANCEL or PUBLISH."""
    if session.is_cancelled:
        return "CANCEL"
    if session.status in OPEN_STATUSES:
        return "REQUEST"
    return "PUBLISH"


def invite_calendar(session: InviteSession) -> bytes:
    """The invite.ics of one session, as an iTIP message (RFC 5546)."""
    method = invite_method(session)
    # RFC 5546 has no ATTENDEE in PUBLISH; attendees there would also make clients send replies.
    event = _event(session, with_attendees=method != "PUBLISH")
    return _serialise(_calendar(method, [event]))


def feed_calendar(coach_name: str, sessions: Sequence[InviteSession]) -> bytes:
    """A coach's subscription feed: one VEVENT per session, same UIDs as the invites."""
    calendar = _calendar("PUBLISH", [_event(s, with_attendees=False) for s in sessions])
    calendar.calendar_name = f"Coaching sessions: {coach_name}"
    # Both spellings: REFRESH-INTERVAL is RFC 7986 (which requires VALUE=DURATION, and the
    # library's setter leaves it out), X-PUBLISHED-TTL is what Outlook reads.
    refresh = vDuration(FEED_REFRESH)
    calendar.add("REFRESH-INTERVAL", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", refresh)
    return _serialise(calendar)


def _calendar(method: str, events: Sequence[Event]) -> Calendar:
    # Built by hand rather than Calendar.new(), which adds a random UID and so
    # would make identical sessions render to different bytes (and ETags).
    calendar = Calendar()
    calendar.prodid = PRODID
    calendar.version = "2.0"
    calendar.calscale = "GREGORIAN"
    calendar.method = method
    for event in events:
        calendar.add_component(event)
    return calendar


def _serialise(calendar: Calendar) -> bytes:
    ics: bytes = calendar.to_ical()
    return ics


def _event(session: InviteSession, *, with_attendees: bool) -> Event:
    attendees = _attendees(session) if with_attendees else None
    return Event.new(
        uid=uid_for(session.session_id),
        sequence=session.sequence,
        stamp=session.updated_at.astimezone(UTC),
        start=session.starts_at.astimezone(UTC),
        end=session.ends_at.astimezone(UTC),
        summary=summary_for(session),
        description=session.note or None,
        organizer=vCalAddress.new(f"mailto:{session.coach_email}", cn=session.coach_name),
        attendees=attendees,
        status=_EVENT_STATUS[session.status],
    )


def _attendees(session: InviteSession) -> list[vCalAddress]:
    # The product has no RSVP step: the only answer ever pending is the coach's
    # confirmation of a requested session, which happens through the API.
    coach_partstat = "NEEDS-ACTION" if session.status == "requested" else "ACCEPTED"
    return [
        vCalAddress.new(
            f"mailto:{session.coachee_email}",
            cn=session.coachee_name,
            role="REQ-PARTICIPANT",
            partstat="ACCEPTED",
            rsvp=False,
        ),
        vCalAddress.new(
            f"mailto:{session.coach_email}",
            cn=session.coach_name,
            role="CHAIR",
            partstat=coach_partstat,
            rsvp=False,
        ),
    ]
