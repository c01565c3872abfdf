"""The relay's pure decisions: who an event goes to, and when a failed delivery is retried."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from session_api.config import Settings
from session_api.db.repositories.outbox import NewDelivery
from session_api.services.relay import fan_out, retry_delay

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
COACH = uuid.UUID(int=1)
COACHEE = uuid.UUID(int=2)
SECRET = "s" * 32


def _event(type_: str, *, occurred_at: datetime = NOW, **data: Any) -> Any:
    month_event = type_.startswith("coachee.")
    return SimpleNamespace(
        id=7,
        type=type_,
        occurred_at=occurred_at,
        coachee_id=COACHEE,
        coach_id=None if month_event else COACH,
        data=data,
    )


def _hook(event_types: list[str] | None, *, created_at: datetime = NOW) -> Any:
    return SimpleNamespace(id=uuid.uuid4(), event_types=event_types, created_at=created_at)


def _destinations(rows: list[NewDelivery]) -> list[tuple[str, str]]:
    return [(row.channel, row.destination) for row in rows]


def test_a_session_event_mails_both_people_and_every_matching_hook() -> None:
    every, cancels, scheduled = (
        _hook(None),
        _hook(["session.cancelled"]),
        _hook(["session.scheduled"]),
    )

    rows = fan_out(_event("session.scheduled"), [every, cancels, scheduled], NOW)

    assert _destinations(rows) == [
        ("email", f"coach:{COACH}"),
        ("email", f"coachee:{COACHEE}"),
        ("webhook", str(every.id)),
        ("webhook", str(scheduled.id)),
    ]
    assert {(row.event_id, row.next_attempt_at) for row in rows} == {(7, NOW)}


@pytest.mark.parametrize(
    "event",
    [
        _event("session.completed", backfill=True),
        _event("session.no_show", backfill=True),
        _event("coachee.month_full", month="2026-12"),
        _event("coachee.month_available", month="2026-12"),
    ],
)
def test_backfills_and_month_events_send_no_mail(event: Any) -> None:
    hook = _hook(None)
    assert _destinations(fan_out(event, [hook], NOW)) == [("webhook", str(hook.id))]


def test_a_hook_gets_only_events_that_occurred_once_it_existed() -> None:
    older, same_instant, newer = (
        _hook(None, created_at=NOW - timedelta(microseconds=1)),
        _hook(None),
        _hook(None, created_at=NOW + timedelta(microseconds=1)),
    )

    rows = fan_out(_event("coachee.month_full"), [older, same_instant, newer], NOW)

    assert _destinations(rows) == [("webhook", str(older.id)), ("webhook", str(same_instant.id))]


def test_marking_a_session_completed_mails_both_people() -> None:
    rows = fan_out(_event("session.completed", backfill=False), [], NOW)
    assert [row.channel for row in rows] == ["email", "email"]


@pytest.mark.parametrize(
    ("attempts", "ceiling"), [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (30, 3600)]
)
def test_retries_back_off_exponentially_with_jitter_up_to_a_cap(
    attempts: int, ceiling: float
) -> None:
    rand = random.Random(attempts)
    delays = [
        retry_delay(attempts, first_seconds=30, max_seconds=3600, rand=rand) for _ in range(200)
    ]
    assert all(timedelta(seconds=ceiling / 2) <= d <= timedelta(seconds=ceiling) for d in delays)
    # Jitter: a batch that failed together does not come back together.
    assert len(set(delays)) > 150


def test_worker_settings_refuse_a_lease_shorter_than_a_send() -> None:
    with pytest.raises(ValidationError, match="DELIVERY_LEASE_SECONDS"):
        Settings(jwt_secret=SECRET, delivery_lease_seconds=30, smtp_timeout_seconds=30)
    with pytest.raises(ValidationError, match="SMTP_USERNAME needs"):
        Settings(jwt_secret=SECRET, smtp_username="sessions")


def test_empty_smtp_settings_mean_unset() -> None:
    settings = Settings(jwt_secret=SECRET, smtp_host="", smtp_username="", smtp_password="")
    assert (settings.smtp_host, settings.smtp_username, settings.smtp_password) == (None,) * 3
