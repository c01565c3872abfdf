"""Bodies written straight to JSON say exactly what their response model would."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asyncpg.pgproto import pgproto

from session_api.api.bodies import json_answer
from session_api.api.schemas.availability import (
    FreeSlotsRead,
    free_slot_fields,
    month_quota_fields,
)
from session_api.api.schemas.common import ItemList, Page
from session_api.api.schemas.sessions import (
    DefaultSlotRead,
    MonthUsageRead,
    SessionRead,
    default_slot_fields,
    month_usage_fields,
    session_fields,
)
from session_api.api.schemas.views import CoacheeSessionRead, coachee_session_fields
from session_api.db.repositories.sessions import NumberedSession
from session_api.domain.booking import FreeSlot
from session_api.domain.quota import DefaultSlot, MonthUsage

STARTS = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def _session(**changes: Any) -> NumberedSession:
    session = NumberedSession(
        id=uuid.uuid4(),
        coachee_id=uuid.uuid4(),
        coach_id=uuid.uuid4(),
        starts_at=STARTS,
        ends_at=STARTS + timedelta(minutes=45),
        month="2026-12",
        status="scheduled",
        created_by="coach:1",
        note="Bring the plan",
        cancelled_by=None,
        cancelled_at=None,
        cancel_message=None,
        version=3,
        sequence=1,
        created_at=STARTS - timedelta(days=3, microseconds=7),
        updated_at=STARTS - timedelta(days=1),
        session_number=2,
        sessions_per_month=2,
        coachee_name="Maia Ödegaard",
        coachee_coach_id=uuid.uuid4(),
    )
    return replace(session, **changes)


@pytest.mark.parametrize(
    "row",
    [
        _session(),
        _session(
            status="cancelled",
            session_number=None,
            note=None,
            cancelled_by="coachee:2",
            cancelled_at=STARTS - timedelta(hours=2),
            cancel_message='Ill, "sorry"',
        ),
        # As the asyncpg driver answers them: its own subclass of `uuid.UUID`.
        _session(
            id=pgproto.UUID(str(uuid.uuid4())),
            coachee_id=pgproto.UUID(str(uuid.uuid4())),
            coach_id=pgproto.UUID(str(uuid.uuid4())),
        ),
    ],
)
def test_a_page_written_once_is_the_models_json(row: NumberedSession) -> None:
    answer = json_answer({"items": [coachee_session_fields(row)], "next_cursor": "abc"})
    model = Page[CoacheeSessionRead](items=[CoacheeSessionRead.from_row(row)], next_cursor="abc")

    assert answer.media_type == "application/json"
    assert bytes(answer.body) == model.model_dump_json().encode()
    assert json.loads(bytes(answer.body)) == model.model_dump(mode="json")


def test_months_written_once_are_the_models_json() -> None:
    usages = [
        MonthUsage("2026-12", 2, {"scheduled": 1, "late_cancelled": 1, "cancelled": 3}),
        MonthUsage("2027-01", 1, {}),
        MonthUsage("2027-02", 1, {"completed": 2}),  # over full after the limit was lowered
    ]
    answer = json_answer({"items": [month_usage_fields(usage) for usage in usages]})
    model = ItemList[MonthUsageRead](
        items=[MonthUsageRead.model_validate(month_usage_fields(usage)) for usage in usages]
    )

    assert bytes(answer.body) == model.model_dump_json().encode()
    assert [item["remaining"] for item in json.loads(bytes(answer.body))["items"]] == [0, 1, 0]


def test_a_session_written_once_is_the_models_json() -> None:
    row = _session(note=None)

    answer = json_answer(session_fields(row))

    assert bytes(answer.body) == SessionRead.from_row(row).model_dump_json().encode()


def test_a_default_slot_written_once_is_the_models_json() -> None:
    slot = DefaultSlot(month="2027-01", session_number=2, sessions_per_month=3)

    answer = json_answer(default_slot_fields(slot))

    assert (
        bytes(answer.body)
        == DefaultSlotRead(**default_slot_fields(slot)).model_dump_json().encode()
    )
    assert json.loads(bytes(answer.body))["label"] == "Session 2 of 3"


@pytest.mark.parametrize("month", ["2026-12", None])
def test_free_slots_written_once_are_the_models_json(month: str | None) -> None:
    # As the free slots are found: instants in `datetime.UTC`, a second one across a change.
    slots = [
        FreeSlot(STARTS, STARTS + timedelta(hours=1), month, None if month is None else True),
        FreeSlot(
            datetime.fromtimestamp(1_792_890_000, UTC),
            datetime.fromtimestamp(1_792_893_600, UTC),
            month,
            None if month is None else False,
        ),
    ]
    usages = [MonthUsage("2026-12", 2, {"scheduled": 1, "late_cancelled": 1, "cancelled": 3})]
    months = usages if month is not None else []

    answer = json_answer(
        {
            "items": [free_slot_fields(slot) for slot in slots],
            "months": [month_quota_fields(usage) for usage in months],
        }
    )
    model = FreeSlotsRead.model_validate(
        {
            "items": [free_slot_fields(slot) for slot in slots],
            "months": [month_quota_fields(usage) for usage in months],
        }
    )

    assert bytes(answer.body) == model.model_dump_json().encode()
