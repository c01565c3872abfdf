"""invite.ics and calendar.ics: methods, statuses, stable UIDs, sequences, UTC times."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from icalendar import Calendar, Event

from session_api.notify.ics import InviteSession, feed_calendar, invite_calendar, uid_for

SESSION_ID = UUID("6f1c2d9e-0b7a-4c55-9a43-2f7e1d0c8b11")
STARTS_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _session(**changes: Any) -> InviteSession:
    session = InviteSession(
        session_id=SESSION_ID,
        sequence=0,
        status="scheduled",
        starts_at=STARTS_AT,
        ends_at=STARTS_AT + timedelta(hours=1),
        label="Session 2 of 4",
        note="Bring the goals sheet.",
        coach_name="Ana Coach",
        coach_email="ana@example.com",
        coachee_name="Maia Learner",
        coachee_email="maia@example.com",
        updated_at=datetime(2026, 11, 20, 8, 30, tzinfo=UTC),
    )
    return dataclasses.replace(session, **changes)


def _parse(ics: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(ics)
    (event,) = calendar.events
    return calendar, event


def _attendee_emails(event: Event) -> set[str]:
    return {str(attendee) for attendee in event.attendees}


@pytest.mark.parametrize(
    ("status", "method", "event_status"),
    [
        ("requested", "REQUEST", "TENTATIVE"),
        ("scheduled", "REQUEST", "CONFIRMED"),
        ("cancelled", "CANCEL", "CANCELLED"),
        ("late_cancelled", "CANCEL", "CANCELLED"),
        ("completed", "PUBLISH", "CONFIRMED"),
        ("no_show", "PUBLISH", "CONFIRMED"),
    ],
)
def test_method_and_status_follow_the_session_status(
    status: str, method: str, event_status: str
) -> None:
    calendar, event = _parse(invite_calendar(_session(status=status)))
    assert calendar["METHOD"] == method
    assert event["STATUS"] == event_status


def test_invite_is_a_complete_request() -> None:
    calendar, event = _parse(invite_calendar(_session(sequence=3)))
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"]
    assert event["UID"] == f"{SESSION_ID}@session-api"
    assert event["SEQUENCE"] == 3
    assert event.start == STARTS_AT
    assert event.end == STARTS_AT + timedelta(hours=1)
    assert event.stamp == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    assert event["SUMMARY"] == "Coaching: Maia Learner with Ana Coach (Session 2 of 4)"
    assert event["DESCRIPTION"] == "Bring the goals sheet."
    assert str(event["ORGANIZER"]) == "mailto:ana@example.com"
    assert event["ORGANIZER"].params["CN"] == "Ana Coach"
    assert _attendee_emails(event) == {"mailto:maia@example.com", "mailto:ana@example.com"}
    names = {attendee.params["CN"] for attendee in event.attendees}
    assert names == {"Maia Learner", "Ana Coach"}


def test_uid_never_changes_while_sequence_rises() -> None:
    requested = _session(status="requested", sequence=0)
    moved = _session(
        status="scheduled",
        sequence=1,
        starts_at=STARTS_AT + timedelta(days=2),
        ends_at=STARTS_AT + timedelta(days=2, hours=1),
    )
    cancelled = dataclasses.replace(moved, status="cancelled", sequence=2, label=None)
    parsed = [_parse(invite_calendar(s))[1] for s in (requested, moved, cancelled)]
    assert {event["UID"] for event in parsed} == {uid_for(SESSION_ID)}
    assert [event["SEQUENCE"] for event in parsed] == [0, 1, 2]


def test_uid_is_derived_from_the_session_id_only() -> None:
    assert uid_for(SESSION_ID) == uid_for(UUID(str(SESSION_ID)))
    assert uid_for(SESSION_ID) != uid_for(UUID("00000000-0000-4000-8000-000000000000"))


def test_times_are_written_in_utc() -> None:
    berlin_winter = timezone(timedelta(hours=1))
    session = _session(
        starts_at=datetime(2026, 12, 1, 10, 0, tzinfo=berlin_winter),
        ends_at=datetime(2026, 12, 1, 11, 0, tzinfo=berlin_winter),
    )
    ics = invite_calendar(session)
    assert b"DTSTART:20261201T090000Z" in ics
    assert b"DTEND:20261201T100000Z" in ics


def test_same_session_renders_to_the_same_bytes() -> None:
    assert invite_calendar(_session()) == invite_calendar(_session())


def test_cancel_carries_attendees_and_no_label_is_fine() -> None:
    _, event = _parse(invite_calendar(_session(status="cancelled", label=None, note=None)))
    assert event["SUMMARY"] == "Coaching: Maia Learner with Ana Coach"
    assert "DESCRIPTION" not in event
    assert _attendee_emails(event) == {"mailto:maia@example.com", "mailto:ana@example.com"}


def test_published_invite_has_no_attendees() -> None:
    _, event = _parse(invite_calendar(_session(status="completed")))
    assert "ATTENDEE" not in event
    assert str(event["ORGANIZER"]) == "mailto:ana@example.com"


def test_requested_session_awaits_the_coach() -> None:
    _, event = _parse(invite_calendar(_session(status="requested")))
    partstat = {str(a): a.params["PARTSTAT"] for a in event.attendees}
    assert partstat == {
        "mailto:ana@example.com": "NEEDS-ACTION",
        "mailto:maia@example.com": "ACCEPTED",
    }


def test_user_text_survives_escaping() -> None:
    note = 'Line one; with, "quotes"\nLine two \\ backslash'
    name = 'Zoë "Z" O\'Neil; PhD'
    _, event = _parse(invite_calendar(_session(note=note, coachee_name=name)))
    assert event["DESCRIPTION"] == note
    coachee = next(a for a in event.attendees if str(a) == "mailto:maia@example.com")
    assert coachee.params["CN"] == name
    assert str(event["SUMMARY"]).startswith(f"Coaching: {name} with")


def test_feed_publishes_every_session_with_invite_uids() -> None:
    second_id = UUID("0d3f8c55-5b1e-4f0a-8f6a-6a1b5d9e7c22")
    sessions = [
        _session(),
        _session(
            session_id=second_id,
            status="requested",
            sequence=4,
            starts_at=STARTS_AT + timedelta(days=7),
            ends_at=STARTS_AT + timedelta(days=7, hours=1),
        ),
    ]
    calendar = Calendar.from_ical(feed_calendar("Ana Coach", sessions))
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["X-WR-CALNAME"] == "Coaching sessions: Ana Coach"
    assert calendar.refresh_interval == timedelta(hours=1)
    assert [(e["UID"], e["SEQUENCE"], e["STATUS"]) for e in calendar.events] == [
        (uid_for(SESSION_ID), 0, "CONFIRMED"),
        (uid_for(second_id), 4, "TENTATIVE"),
    ]
    assert all("ATTENDEE" not in event for event in calendar.events)


def test_empty_feed_is_a_valid_calendar() -> None:
    calendar = Calendar.from_ical(feed_calendar("Ana Coach", []))
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar.events == []


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "postponed"},
        {"sequence": -1},
        {"starts_at": datetime(2026, 12, 1, 9, 0)},  # noqa: DTZ001 - naive on purpose
        {"updated_at": datetime(2026, 11, 20, 8, 30)},  # noqa: DTZ001 - naive on purpose
        {"ends_at": STARTS_AT},
    ],
)
def test_invalid_sessions_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"status|sequence|offset|after"):
        _session(**changes)
