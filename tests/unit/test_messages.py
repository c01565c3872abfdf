"""Session e-mails: parts, the attached invite, times in the recipient's zone, escaping."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import pytest
from icalendar import Calendar

from session_api.notify.ics import InviteSession, uid_for
from session_api.notify.messages import Recipient, compose

SESSION_ID = UUID("6f1c2d9e-0b7a-4c55-9a43-2f7e1d0c8b11")
STARTS_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MAIL_FROM = "Session API <sessions@coaching.example>"
COACHEE = Recipient("Maia Learner", "maia@example.com", "Europe/Berlin")
COACH = Recipient("Ana Coach", "ana@example.com", "America/New_York")


def _session(**changes: Any) -> InviteSession:
    session = InviteSession(
        session_id=SESSION_ID,
        sequence=1,
        status="scheduled",
        starts_at=STARTS_AT,
        ends_at=STARTS_AT + timedelta(hours=1),
        label="Session 2 of 4",
        note=None,
        coach_name="Ana Coach",
        coach_email="ana@example.com",
        coachee_name="Maia Learner",
        coachee_email="maia@example.com",
        updated_at=datetime(2026, 11, 20, 8, 30, tzinfo=UTC),
    )
    return dataclasses.replace(session, **changes)


def _compose(
    event_type: str,
    session: InviteSession | None = None,
    recipient: Recipient = COACHEE,
    *,
    previous_starts_at: datetime | None = None,
    message: str | None = None,
) -> EmailMessage:
    return compose(
        event_type,
        session or _session(),
        recipient,
        previous_starts_at=previous_starts_at,
        message=message,
        mail_from=MAIL_FROM,
        sent_at=datetime(2026, 11, 20, 8, 31, tzinfo=UTC),
    )


def _text(email: EmailMessage) -> str:
    part = email.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def _html(email: EmailMessage) -> str:
    part = email.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def _invites(email: EmailMessage) -> list[EmailMessage]:
    return [part for part in email.iter_attachments() if part.get_content_type() == "text/calendar"]


def _invite(email: EmailMessage) -> tuple[EmailMessage, Calendar]:
    (part,) = _invites(email)
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return part, Calendar.from_ical(payload)


def test_scheduled_mail_has_text_html_and_a_request_invite() -> None:
    email = _compose("session.scheduled")
    assert email.get_content_type() == "multipart/mixed"
    assert email["Subject"] == "Session scheduled with Ana Coach: Tuesday 1 December 2026, 10:00"
    assert email["From"] == MAIL_FROM
    assert email["To"].addresses[0].addr_spec == "maia@example.com"
    assert email["To"].addresses[0].display_name == "Maia Learner"
    assert email["Message-ID"].endswith("@coaching.example>")
    assert email["Date"] == "Fri, 20 Nov 2026 08:31:00 +0000"
    assert email["Auto-Submitted"] == "auto-generated"
    alternative = next(email.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]

    part, calendar = _invite(email)
    assert part.get_param("method") == "REQUEST"
    assert part.get_content_charset() == "utf-8"
    assert part.get_filename() == "invite.ics"
    assert calendar["METHOD"] == "REQUEST"
    assert calendar.events[0]["UID"] == uid_for(SESSION_ID)


def test_times_are_in_the_recipients_zone() -> None:
    session = _session()
    coachee_text = _text(_compose("session.scheduled", session, COACHEE))
    coach_text = _text(_compose("session.scheduled", session, COACH))
    assert "Tuesday 1 December 2026, 10:00\u201311:00 (Europe/Berlin)" in coachee_text
    assert "Tuesday 1 December 2026, 04:00\u201305:00 (America/New_York)" in coach_text


def test_a_session_across_local_midnight_names_both_days() -> None:
    late = _session(
        starts_at=datetime(2026, 12, 1, 22, 30, tzinfo=UTC),
        ends_at=datetime(2026, 12, 1, 23, 30, tzinfo=UTC),
    )
    text = _text(_compose("session.scheduled", late, COACHEE))
    assert (
        "Tuesday 1 December 2026, 23:30 \u2013 Wednesday 2 December 2026, 00:30 (Europe/Berlin)"
        in text
    )


def test_each_recipient_reads_about_the_other_party() -> None:
    assert "with Ana Coach" in _text(_compose("session.confirmed", recipient=COACHEE))
    assert "with Maia Learner" in _text(_compose("session.confirmed", recipient=COACH))


def test_requested_mail_tells_who_must_confirm() -> None:
    requested = _session(status="requested")
    coach_text = _text(_compose("session.requested", requested, COACH))
    coachee_text = _text(_compose("session.requested", requested, COACHEE))
    assert "Maia Learner has requested a coaching session" in coach_text
    assert "until you confirm it" in coach_text
    assert "until Ana Coach confirms it" in coachee_text
    part, calendar = _invite(_compose("session.requested", requested, COACHEE))
    assert part.get_param("method") == "REQUEST"
    assert calendar.events[0]["STATUS"] == "TENTATIVE"


def test_rescheduled_mail_mentions_old_and_new_times() -> None:
    moved = _session(
        sequence=2,
        starts_at=datetime(2026, 12, 3, 14, 0, tzinfo=UTC),
        ends_at=datetime(2026, 12, 3, 15, 0, tzinfo=UTC),
    )
    email = _compose(
        "session.rescheduled", moved, previous_starts_at=STARTS_AT, message="Clash at work."
    )
    text = _text(email)
    assert "Was: Tuesday 1 December 2026, 10:00 (Europe/Berlin)" in text
    assert "Now: Thursday 3 December 2026, 15:00\u201316:00 (Europe/Berlin)" in text
    assert "Message: Clash at work." in text
    assert email["Subject"] == "Session moved with Ana Coach: now Thursday 3 December 2026, 15:00"
    _, calendar = _invite(email)
    assert calendar.events[0]["SEQUENCE"] == 2


def test_cancelled_mail_cancels_the_invite_and_quotes_the_message() -> None:
    cancelled = _session(status="cancelled", sequence=2, label=None)
    email = _compose("session.cancelled", cancelled, message="Sorry, I am ill.")
    text = _text(email)
    assert "has been cancelled, and so has its calendar invite" in text
    assert "Message: Sorry, I am ill." in text
    assert "Sorry, I am ill." in _html(email)
    part, calendar = _invite(email)
    assert part.get_param("method") == "CANCEL"
    assert calendar["METHOD"] == "CANCEL"
    assert calendar.events[0]["STATUS"] == "CANCELLED"
    assert calendar.events[0]["UID"] == uid_for(SESSION_ID)


def test_late_cancellation_says_it_still_counts() -> None:
    email = _compose("session.cancelled", _session(status="late_cancelled"), message="Stuck.")
    assert "still counts towards the month's sessions" in _text(email)
    assert _invite(email)[0].get_param("method") == "CANCEL"


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("session.completed", "completed"),
        ("session.no_show", "no_show"),
    ],
)
def test_finished_sessions_need_no_invite(event_type: str, status: str) -> None:
    email = _compose(event_type, _session(status=status))
    assert _invites(email) == []
    assert email.get_content_type() == "multipart/alternative"
    assert "Tuesday 1 December 2026, 10:00\u201311:00 (Europe/Berlin)" in _text(email)


def test_late_mail_about_a_cancelled_session_still_cancels() -> None:
    email = _compose("session.scheduled", _session(status="cancelled", sequence=2))
    assert _invite(email)[0].get_param("method") == "CANCEL"
    assert "has since been cancelled" in _text(email)


def test_html_escapes_everything_users_wrote() -> None:
    session = _session(
        note="<script>alert('x')</script>\nSecond line",
        coach_name="Ana <b>Coach</b>",
        label="Session 2 of 4",
    )
    email = _compose(
        "session.cancelled",
        dataclasses.replace(session, status="cancelled"),
        message='"><img src=x onerror=alert(1)>',
    )
    html = _html(email)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;<br>" in html
    assert "Ana &lt;b&gt;Coach&lt;/b&gt;" in html
    assert "<img" not in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    text = _text(email)
    assert "<script>alert('x')</script>\n  Second line" in text


def test_header_values_stay_on_one_line() -> None:
    session = _session(coach_name="Ana\r\nBcc: victim@example.com")
    email = _compose("session.scheduled", session, Recipient("Maia\nX", "maia@example.com", "UTC"))
    assert email["Subject"].startswith("Session scheduled with Ana Bcc: victim@example.com:")
    assert "Bcc" not in email
    assert email["To"].addresses[0].display_name == "Maia X"


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match="event type"):
        _compose("coachee.month_full")


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        Recipient("Maia", "maia@example.com", "Mars/Olympus_Mons")


def test_naive_previous_time_is_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        _compose("session.rescheduled", previous_starts_at=datetime(2026, 12, 1, 9, 0))  # noqa: DTZ001


def test_a_reminder_carries_the_current_invite_and_the_session_number() -> None:
    email = _compose("session.reminder_due", recipient=COACH)

    assert (
        email["Subject"] == "Reminder: session with Maia Learner on Tuesday 1 December 2026, 04:00"
    )
    assert "Session 2 of 4" in _text(email)
    part, calendar = _invite(email)
    assert part.get_param("method") == "REQUEST"
    assert str(calendar["METHOD"]) == "REQUEST"


def test_a_reminder_of_a_request_says_who_still_has_to_confirm() -> None:
    requested = _session(status="requested")
    assert "until you confirm it" in _text(_compose("session.reminder_due", requested, COACH))
    assert "has not confirmed it yet" in _text(_compose("session.reminder_due", requested))
