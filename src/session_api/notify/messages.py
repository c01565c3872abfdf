"""The e-mail for one session event and one recipient, in the recipient's time zone."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from session_api.domain.events import EventType
from session_api.domain.months import MONTH_NAMES
from session_api.notify.ics import InviteSession, invite_calendar, invite_method

INVITE_FILENAME = "invite.ics"
EN_DASH = "\u2013"
# The event types that change what a calendar should show; the others only inform.
INVITE_EVENTS = frozenset(
    {
        EventType.SESSION_SCHEDULED,
        EventType.SESSION_REQUESTED,
        EventType.SESSION_CONFIRMED,
        EventType.SESSION_RESCHEDULED,
        EventType.SESSION_CANCELLED,
    }
)
# A reminder changes nothing in a calendar, but carries the current invite all the same.
ATTACH_INVITE_EVENTS = INVITE_EVENTS | {EventType.SESSION_REMINDER_DUE}
EVENT_TYPES = ATTACH_INVITE_EVENTS | {EventType.SESSION_COMPLETED, EventType.SESSION_NO_SHOW}

# Spelled out rather than strftime("%A %B"), which follows the process locale.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to, and the time zone their times are written in."""

    name: str
    email: str
    timezone: str

    def __post_init__(self) -> None:
        """Refuse an unknown zone now rather than when a message is half composed."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc

    @property
    def zone(self) -> ZoneInfo:
        """The recipient's time zone."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class _Content:
    subject: str
    lead: tuple[str, ...]
    details: tuple[tuple[str, str], ...]
    closing: str | None


def format_day_time(at: datetime, zone: ZoneInfo) -> str:
    """E.g. "Tuesday 1 December 2026, 10:00" in the given zone."""
    local = at.astimezone(zone)
    day = f"{_WEEKDAYS[local.weekday()]} {local.day} {MONTH_NAMES[local.month - 1]} {local.year}"
    return f"{day}, {local:%H:%M}"


def format_instant(at: datetime, zone: ZoneInfo) -> str:
    """E.g. "Tuesday 1 December 2026, 10:00 (Europe/Berlin)"."""
    return f"{format_day_time(at, zone)} ({zone.key})"


def format_span(starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> str:
    """E.g. "Tuesday 1 December 2026, 10:00-11:00 (Europe/Berlin)", with an en dash."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    if start.date() == end.date():
        return f"{format_day_time(start, zone)}{EN_DASH}{end:%H:%M} ({zone.key})"
    return f"{format_day_time(start, zone)} {EN_DASH} {format_day_time(end, zone)} ({zone.key})"


def compose(
    event_type: str,
    session: InviteSession,
    recipient: Recipient,
    *,
    previous_starts_at: datetime | None,
    message: str | None,
    mail_from: str,
    sent_at: datetime | None = None,
) -> EmailMessage:
    """The e-mail telling one recipient about one session event, with the invite attached."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"no e-mail for event type {event_type!r}")
    for name, value in (("previous_starts_at", previous_starts_at), ("sent_at", sent_at)):
        if value is not None and value.utcoffset() is None:
            raise ValueError(f"{name} must carry a UTC offset")
    # Pass the session as it is now: the invite always shows the current state, so a
    # delayed "scheduled" mail can never put an already cancelled session back in a calendar.
    method = invite_method(session) if event_type in ATTACH_INVITE_EVENTS else None
    if method == "PUBLISH":
        # A finished session has nothing for a calendar to act on.
        method = None
    content = _content(
        event_type,
        session,
        recipient,
        previous_starts_at=previous_starts_at,
        message=message,
        invite_method=method,
    )

    email = EmailMessage(policy=SMTP)
    email["Subject"] = _one_line(content.subject)
    email["From"] = mail_from
    email["To"] = Address(display_name=_one_line(recipient.name), addr_spec=recipient.email)
    email["Date"] = format_datetime(sent_at or datetime.now(UTC))
    email["Message-ID"] = make_msgid(domain=_domain_of(mail_from))
    # RFC 3834: tells mail servers and vacation responders not to answer automatically.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(_plain_text(recipient, content))
    email.add_alternative(_html(recipient, content), subtype="html")
    if method is not None:
        email.add_attachment(
            invite_calendar(session),
            maintype="text",
            subtype="calendar",
            filename=INVITE_FILENAME,
            params={"method": method, "charset": "utf-8", "name": INVITE_FILENAME},
        )
    return email


def _content(
    event_type: str,
    session: InviteSession,
    recipient: Recipient,
    *,
    previous_starts_at: datetime | None,
    message: str | None,
    invite_method: str | None,
) -> _Content:
    zone = recipient.zone
    is_coach = recipient.email.casefold() == session.coach_email.casefold()
    other = session.coachee_name if is_coach else session.coach_name
    when = format_span(session.starts_at, session.ends_at, zone)
    start = format_day_time(session.starts_at, zone)
    details: list[tuple[str, str]] = [("When", when)]
    lead: list[str]

    match event_type:
        case EventType.SESSION_SCHEDULED:
            subject = f"Session scheduled with {other}: {start}"
            lead = [f"A coaching session with {other} has been scheduled."]
        case EventType.SESSION_REQUESTED:
            subject = f"Session requested with {other}: {start}"
            if is_coach:
                lead = [
                    f"{other} has requested a coaching session with you.",
                    "It stays tentative until you confirm it.",
                ]
            else:
                lead = [
                    f"Your request for a coaching session with {other} has been sent.",
                    f"It stays tentative until {other} confirms it.",
                ]
        case EventType.SESSION_CONFIRMED:
            subject = f"Session confirmed with {other}: {start}"
            lead = [f"Your coaching session with {other} is confirmed."]
        case EventType.SESSION_RESCHEDULED:
            subject = f"Session moved with {other}: now {start}"
            lead = [f"Your coaching session with {other} has been moved to a new time."]
            details = [("Now", when)]
            if previous_starts_at is not None:
                details.insert(0, ("Was", format_instant(previous_starts_at, zone)))
        case EventType.SESSION_CANCELLED:
            subject = f"Session cancelled with {other}: {start}"
            lead = [
                f"Your coaching session with {other} has been cancelled, "
                "and so has its calendar invite."
            ]
            if session.status == "late_cancelled":
                lead.append(
                    "It was cancelled at short notice, so it still counts towards "
                    "the month's sessions."
                )
        case EventType.SESSION_REMINDER_DUE:
            subject = f"Reminder: session with {other} on {start}"
            lead = [f"A reminder of your coaching session with {other}."]
            if session.status == "requested":
                lead.append(
                    "It is still tentative: the coach has not confirmed it yet."
                    if not is_coach
                    else "It is still tentative until you confirm it."
                )
        case EventType.SESSION_COMPLETED:
            subject = f"Session completed with {other}: {start}"
            lead = [f"Your coaching session with {other} has been marked as completed."]
        case _:  # session.no_show, the last of EVENT_TYPES
            subject = f"Session recorded as a no-show with {other}: {start}"
            lead = [f"Your coaching session with {other} has been recorded as a no-show."]

    details.append(("With", other))
    if session.label:
        details.append(("Session", session.label))
    if session.note:
        details.append(("Note", session.note))
    if message:
        details.append(("Message", message))
    return _Content(
        subject=subject,
        lead=tuple(lead),
        details=tuple(details),
        closing=_closing(event_type, session, invite_method),
    )


def _closing(event_type: str, session: InviteSession, invite_method: str | None) -> str | None:
    if invite_method == "CANCEL":
        if event_type == EventType.SESSION_CANCELLED:
            return "The attached cancellation removes the session from your calendar."
        return (
            "This session has since been cancelled; the attached cancellation removes it "
            "from your calendar."
        )
    if invite_method == "REQUEST":
        if session.status == "requested":
            return "The attached invite adds the session to your calendar as tentative."
        return "The attached invite adds or updates the session in your calendar."
    return None


def _plain_text(recipient: Recipient, content: _Content) -> str:
    paragraphs = [f"Hello {recipient.name},", " ".join(content.lead)]
    paragraphs.append("\n".join(f"{label}: {_indent(value)}" for label, value in content.details))
    if content.closing:
        paragraphs.append(content.closing)
    return "\n\n".join(paragraphs) + "\n"


def _html(recipient: Recipient, content: _Content) -> str:
    rows = "\n".join(
        f'<tr><th align="left" valign="top">{_escape(label)}</th><td>{_escape(value)}</td></tr>'
        for label, value in content.details
    )
    closing = f"<p>{_escape(content.closing)}</p>\n" if content.closing else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"></head>\n<body>\n'
        f"<p>Hello {_escape(recipient.name)},</p>\n"
        f"<p>{_escape(' '.join(content.lead))}</p>\n"
        f"<table>\n{rows}\n</table>\n"
        f"{closing}"
        "</body>\n</html>\n"
    )


def _escape(text: str) -> str:
    return html.escape(text).replace("\n", "<br>\n")


def _indent(value: str) -> str:
    # Continuation lines of a multi-line note stay visibly part of it.
    return value.replace("\n", "\n  ")


def _one_line(text: str) -> str:
    # A line break in a header value would start a new header (or be refused by the policy).
    return " ".join(text.split())


def _domain_of(mail_from: str) -> str:
    # make_msgid() would otherwise ask the resolver for this host's name, which is I/O.
    _, address = parseaddr(mail_from)
    domain = address.rpartition("@")[2]
    return domain or "session-api"
