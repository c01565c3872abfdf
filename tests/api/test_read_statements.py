"""The coachee's month reads answer in one statement, with the zone's own idea of "this month"."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scheduling_support import always_open_coachee, booked
from tests.support import Clock, Factory, as_coach, auth, counting_statements


async def test_months_and_default_slot_are_one_statement_each(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine, clock: Clock
) -> None:
    # 11:00 UTC on 30 November is already 1 December in Kiritimati (UTC+14).
    coachee = await always_open_coachee(factory, timezone="Pacific/Kiritimati")
    stranger = await factory.coach()
    before = clock.instant
    clock.instant = datetime(2026, 11, 30, 11, tzinfo=UTC)
    try:
        for day in (3, 4):
            await booked(client, coachee, f"2026-12-0{day}T10:00:00+14:00")
        with counting_statements(engine) as statements:
            months = await client.get(f"/v1/coachees/{coachee['id']}/months", headers=auth())
            assert len(statements) == 1
            statements.clear()
            slot = await client.get(f"/v1/coachees/{coachee['id']}/default-slot", headers=auth())
            assert len(statements) == 1
            statements.clear()
            hidden = await client.get(
                f"/v1/coachees/{coachee['id']}/default-slot", headers=as_coach(stranger)
            )
            assert len(statements) == 1
    finally:
        clock.instant = before
    assert [(m["month"], m["used"], m["full"]) for m in months.json()["items"][:2]] == [
        ("2026-12", 2, True),
        ("2027-01", 0, False),
    ]
    assert len(months.json()["items"]) == 6
    assert slot.json() == {
        "month": "2027-01",
        "session_number": 1,
        "sessions_per_month": 2,
        "label": "Session 1 of 2",
    }
    assert hidden.status_code == 404
