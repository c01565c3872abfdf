"""The session repository on both databases, with the SPEC's Maia example as data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI

from session_api.db.repositories.coachees import NewCoachee
from session_api.db.repositories.coaches import NewCoach
from session_api.db.repositories.programs import NewProgram
from session_api.domain.months import month_of
from session_api.services.context import Context

BERLIN = ZoneInfo("Europe/Berlin")
# Maia: 2 a month; 2 completed in November, 2 scheduled in December and January, 1 requested
# in February (a cancelled one in December does not count).
MAIA = [
    ("2026-11-02T10:00", "completed"),
    ("2026-11-05T10:00", "completed"),
    ("2026-12-03T10:00", "scheduled"),
    ("2026-12-08T10:00", "cancelled"),
    ("2026-12-10T10:00", "scheduled"),
    ("2027-01-07T10:00", "scheduled"),
    ("2027-01-14T10:00", "scheduled"),
    ("2027-02-04T10:00", "requested"),
]


@pytest.fixture
async def maia(app: FastAPI, client: Any) -> tuple[Context, dict[str, Any]]:
    """Maia's program, coach, coachee and sessions, written through the repositories.

    `client` is asked for so that the tables are emptied afterwards.
    """
    ctx: Context = app.state.context
    now = datetime(2026, 11, 20, tzinfo=UTC)
    async with ctx.writing() as uow:
        program = await uow.programs.add(NewProgram(name="P", sessions_per_month=2))
        coach = await uow.coaches.add(
            NewCoach(name="C", email="c@example.com", timezone="Europe/Berlin")
        )
        coachee = await uow.coachees.add(
            NewCoachee(
                name="Maia",
                email="maia@example.com",
                timezone="Europe/Berlin",
                program_id=program.id,
                coach_id=coach.id,
            )
        )
        ids = {}
        for local, status in MAIA:
            starts_at = datetime.fromisoformat(local).replace(tzinfo=BERLIN).astimezone(UTC)
            ids[local] = uuid.uuid4()
            await uow.sessions.insert(
                {
                    "id": ids[local],
                    "coachee_id": coachee.id,
                    "coach_id": coach.id,
                    "starts_at": starts_at,
                    "ends_at": starts_at + timedelta(hours=1),
                    "month": month_of(starts_at, BERLIN),
                    "status": status,
                    "created_by": "admin:test",
                    "note": None,
                    "version": 1,
                    "sequence": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        await uow.commit()
    return ctx, {"coachee": coachee, "coach": coach, "ids": ids}


async def test_usage_by_month(maia: tuple[Context, dict[str, Any]]) -> None:
    ctx, data = maia
    async with ctx.reading() as uow:
        usage = await uow.sessions.usage_by_month(data["coachee"].id, "2026-11", "2027-03")
        used = await uow.sessions.used_by_month_for(
            [data["coachee"].id], {data["coachee"].id: "2026-12"}
        )
    assert usage == {
        "2026-11": {"completed": 2},
        "2026-12": {"scheduled": 2, "cancelled": 1},
        "2027-01": {"scheduled": 2},
        "2027-02": {"requested": 1},
    }
    assert used[data["coachee"].id] == {"2026-12": 2, "2027-01": 2, "2027-02": 1}


async def test_session_numbers_skip_cancelled_sessions(
    maia: tuple[Context, dict[str, Any]],
) -> None:
    ctx, data = maia
    async with ctx.reading() as uow:
        rows = {
            local: await uow.sessions.numbered(session_id)
            for local, session_id in data["ids"].items()
        }
    numbers = {
        local: (row.session_number, row.sessions_per_month)
        for local, row in rows.items()
        if row is not None
    }
    assert numbers["2026-12-03T10:00"] == (1, 2)
    assert numbers["2026-12-08T10:00"] == (None, 2)
    assert numbers["2026-12-10T10:00"] == (2, 2)
    assert numbers["2027-02-04T10:00"] == (1, 2)


async def test_conflicts_see_only_open_sessions(maia: tuple[Context, dict[str, Any]]) -> None:
    ctx, data = maia
    cancelled_at = datetime(2026, 12, 8, 9, tzinfo=UTC)
    scheduled_at = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    async with ctx.reading() as uow:
        sessions = uow.sessions
        free = await sessions.first_conflict(
            coach_id=data["coach"].id,
            coachee_id=uuid.uuid4(),
            starts_at=cancelled_at,
            ends_at=cancelled_at + timedelta(hours=1),
        )
        clash = await sessions.first_conflict(
            coach_id=uuid.uuid4(),
            coachee_id=data["coachee"].id,
            starts_at=scheduled_at,
            ends_at=scheduled_at + timedelta(hours=1),
        )
        itself = await sessions.first_conflict(
            coach_id=data["coach"].id,
            coachee_id=data["coachee"].id,
            starts_at=scheduled_at,
            ends_at=scheduled_at + timedelta(hours=1),
            excluding=data["ids"]["2026-12-03T10:00"],
        )
    assert free is None
    assert clash is not None
    assert clash.id == data["ids"]["2026-12-03T10:00"]
    assert itself is None


async def test_lock_reads_every_fact_a_booking_needs(
    maia: tuple[Context, dict[str, Any]],
) -> None:
    ctx, data = maia
    async with ctx.writing() as uow:
        booking = await uow.bookings.lock(data["coachee"].id)
        current = await uow.sessions.lock_for_change(data["ids"]["2026-12-10T10:00"])
    assert booking is not None
    assert current is not None
    for facts in (booking, current.booking):
        assert (facts.coachee_name, facts.sessions_per_month, facts.coach_timezone) == (
            "Maia",
            2,
            "Europe/Berlin",
        )
    assert current.month == "2026-12"
