"""The monthly limit and the no-overlap rule hold under concurrent requests and several apps."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from session_api.config import Settings
from session_api.main import create_app
from tests.scheduling_support import always_open_coachee, book, booked, open_all_week
from tests.support import Clock, Factory, auth

ATTEMPTS = 20


pytestmark = pytest.mark.slow


@pytest.fixture
async def second_app(settings: Settings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """Another app with its own engine and pool on the same database, like another process."""
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://second") as client:
            yield client


@pytest.fixture
async def coachee(factory: Factory) -> dict[str, Any]:
    """A coachee allowed 2 sessions a month, with a coach available all day."""
    return await always_open_coachee(factory)


async def test_concurrent_schedules_fill_exactly_the_free_places(
    client: httpx.AsyncClient, second_app: httpx.AsyncClient, coachee: dict[str, Any]
) -> None:
    clients = (client, second_app)
    responses = await asyncio.gather(
        *(
            book(clients[n % 2], coachee, f"2026-12-{n + 1:02d}T10:00:00+00:00")
            for n in range(ATTEMPTS)
        )
    )
    outcomes = Counter(response.status_code for response in responses)
    assert outcomes == {201: 2, 409: ATTEMPTS - 2}, [
        (r.status_code, r.text) for r in responses if r.status_code != 409
    ]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {
        "monthly_limit_reached"
    }
    # Numbers are as of each answer; read back, the two winners are the 1st and 2nd of December.
    winners = [r.json()["id"] for r in responses if r.status_code == 201]
    labels = [
        (await client.get(f"/v1/sessions/{session_id}", headers=auth())).json()["label"]
        for session_id in winners
    ]
    assert sorted(labels) == ["Session 1 of 2", "Session 2 of 2"]


async def test_concurrent_reschedules_into_one_month(
    client: httpx.AsyncClient, second_app: httpx.AsyncClient, coachee: dict[str, Any]
) -> None:
    sessions = [
        await booked(client, coachee, f"2027-{1 + n // 2:02d}-{10 + n % 2:02d}T10:00:00+00:00")
        for n in range(ATTEMPTS)
    ]
    clients = (client, second_app)
    responses = await asyncio.gather(
        *(
            clients[n % 2].post(
                f"/v1/sessions/{session['id']}/reschedule",
                json={"starts_at": f"2026-12-{n + 1:02d}T10:00:00+00:00"},
                headers=auth(),
            )
            for n, session in enumerate(sessions)
        )
    )
    outcomes = Counter(response.status_code for response in responses)
    assert outcomes == {200: 2, 409: ATTEMPTS - 2}
    months = await client.get(
        f"/v1/coachees/{coachee['id']}/months",
        params={"from": "2026-12", "to": "2026-12"},
        headers=auth(),
    )
    assert months.json()["items"][0]["used"] == 2


async def test_concurrent_overlapping_bookings_admit_one(
    client: httpx.AsyncClient,
    second_app: httpx.AsyncClient,
    factory: Factory,
) -> None:
    coach = await factory.coach(timezone="UTC")
    await open_all_week(factory, coach["id"], start="00:00", end="24:00")
    program = await factory.program(sessions_per_month=31)
    coachees = [await factory.coachee(coach=coach, program=program) for _ in range(10)]
    clients = (client, second_app)
    responses = await asyncio.gather(
        *(
            book(clients[n % 2], someone, f"2026-12-03T10:{n:02d}:00+00:00")
            for n, someone in enumerate(coachees)
        )
    )
    outcomes = Counter(response.status_code for response in responses)
    assert outcomes == {201: 1, 409: 9}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"time_conflict"}
