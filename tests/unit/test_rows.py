"""Typed rows built without their generated `__init__` are the rows it would build."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import UTC, datetime, timedelta

from session_api.db.repositories.sessions import NumberedSession, WrittenSession

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_a_written_session_is_shown_as_the_numbered_session_its_fields_make() -> None:
    written = WrittenSession(
        id=uuid.uuid4(),
        coachee_id=uuid.uuid4(),
        coach_id=uuid.uuid4(),
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=1),
        month="2026-11",
        status="cancelled",
        created_by="admin:ops",
        note=None,
        cancelled_by="coach:x",
        cancelled_at=NOW,
        cancel_message="Ill",
        version=2,
        sequence=1,
        created_at=NOW,
        updated_at=NOW,
        session_number=None,
    )
    coach_id = uuid.uuid4()
    shown = written.shown(sessions_per_month=2, coachee_name="Maia", coachee_coach_id=coach_id)
    expected = NumberedSession(
        **vars(written), sessions_per_month=2, coachee_name="Maia", coachee_coach_id=coach_id
    )
    assert type(shown) is NumberedSession
    assert shown == expected
    assert hash(shown) == hash(expected)
    assert [f.name for f in fields(shown)] == list(vars(shown))
