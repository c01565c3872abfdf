"""The unmarked view through HTTP (SPEC §1.5): ended scheduled sessions nobody marked yet."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scheduling_support import booked, open_all_week
from tests.support import Clock, Factory, as_coach, as_coachee, auth, counting_statements

UNMARKED = {"view": "unmarked"}


def ids(response: httpx.Response) -> list[str]:
    """The item ids of a 200 answer."""
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def mark(client: httpx.AsyncClient, session: dict[str, Any], action: str) -> None:
    """Complete, mark as no-show or cancel a session as an admin."""
    body = {"message": "Sorry"} if action == "cancel" else {}
    response = await client.post(
        f"/v1/sessions/{session['id']}/{action}", json=body, headers=auth()
    )
    assert response.status_code == 200, response.text


async def test_lists_ended_scheduled_sessions_nobody_marked_oldest_first(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine, clock: Clock
) -> None:
    program = await factory.program(sessions_per_month=8)
    coach, other_coach = await factory.coach(), await factory.coach()
    for someone in (coach, other_coach):
        await open_all_week(factory, someone["id"], start="00:00", end="24:00")
    ana = await factory.coachee(program=program, coach=coach, name="Ana")
    ben = await factory.coachee(program=program, coach=coach, name="Ben")
    eve = await factory.coachee(program=program, coach=other_coach, name="Eve")

    ana_late = await booked(client, ana, "2026-11-20T14:00:00Z")
    ben_early = await booked(client, ben, "2026-11-20T13:00:00Z")
    eve_one = await booked(client, eve, "2026-11-20T15:00:00Z")
    completed = await booked(client, ana, "2026-11-20T17:00:00Z")
    no_show = await booked(client, ben, "2026-11-20T18:00:00Z")
    cancelled = await booked(client, ana, "2026-11-20T19:00:00Z")
    await booked(client, ana, "2026-11-20T20:00:00Z", status="requested")  # never confirmed
    await booked(client, ben, "2026-11-21T09:00:00Z")  # still running at "now"
    await mark(client, cancelled, "cancel")
    clock.instant = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    await mark(client, completed, "complete")
    await mark(client, no_show, "no-show")

    as_their_coach = await client.get("/v1/sessions", params=UNMARKED, headers=as_coach(coach))
    assert ids(as_their_coach) == [ben_early["id"], ana_late["id"]]
    first = as_their_coach.json()["items"][0]
    assert (first["status"], first["coachee_name"], first["label"]) == (
        "scheduled",
        "Ben",
        "Session 1 of 8",
    )
    everyone = await client.get("/v1/sessions", params=UNMARKED, headers=auth())
    assert ids(everyone) == [ben_early["id"], ana_late["id"], eve_one["id"]]
    by_coach = {**UNMARKED, "coach_id": other_coach["id"]}
    assert ids(await client.get("/v1/sessions", params=by_coach, headers=auth())) == [eve_one["id"]]
    # Another coach's id narrows to nothing, never a 404; a coachee sees their own only.
    assert ids(await client.get("/v1/sessions", params=by_coach, headers=as_coach(coach))) == []
    assert ids(await client.get("/v1/sessions", params=UNMARKED, headers=as_coachee(ana))) == [
        ana_late["id"]
    ]
    by_coachee = {**UNMARKED, "coachee_id": ana["id"]}
    assert ids(await client.get("/v1/sessions", params=by_coachee, headers=as_coachee(eve))) == []

    # Marking it takes a session off the list.
    await mark(client, ana_late, "complete")
    assert ids(await client.get("/v1/sessions", params=UNMARKED, headers=as_coach(coach))) == [
        ben_early["id"]
    ]


async def test_pages_with_the_views_cursor_one_statement_each(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine, clock: Clock
) -> None:
    program = await factory.program(sessions_per_month=8)
    coach = await factory.coach()
    await open_all_week(factory, coach["id"], start="00:00", end="24:00")
    ana = await factory.coachee(program=program, coach=coach, name="Ana")
    starts = [f"2026-11-2{day}T10:00:00Z" for day in (4, 1, 3, 2, 5)]
    booked_ids = {start: (await booked(client, ana, start))["id"] for start in starts}
    clock.instant = datetime(2026, 11, 26, tzinfo=UTC)
    headers = as_coach(coach)
    params: dict[str, Any] = {**UNMARKED, "coach_id": coach["id"], "limit": 2}
    await client.get("/v1/sessions", params=params, headers=headers)  # warm the pool up

    listed: list[str] = []
    while True:
        with counting_statements(engine) as statements:
            page = await client.get("/v1/sessions", params=params, headers=headers)
        assert len(statements) == 1, statements
        listed += ids(page)
        if page.json()["next_cursor"] is None:
            break
        params["cursor"] = page.json()["next_cursor"]

    assert listed == [booked_ids[start] for start in sorted(starts)]


async def test_status_does_not_apply_to_the_unmarked_view(client: httpx.AsyncClient) -> None:
    for params in ({**UNMARKED, "status": "scheduled"}, {"view": "unmarked", "cursor": "%%"}):
        response = await client.get("/v1/sessions", params=params, headers=auth())
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
