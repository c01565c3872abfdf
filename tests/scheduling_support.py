"""Helpers for scheduling tests: open availability and booking through the API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import Factory, auth

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


async def open_all_week(
    factory: Factory, coach_id: str, start: str = "06:00", end: str = "22:00"
) -> None:
    """Make the coach available every day between `start` and `end` (their time zone)."""
    weekly = [{"weekday": day, "start": start, "end": end} for day in WEEKDAYS]
    response = await factory.client.put(
        f"/v1/coaches/{coach_id}/availability",
        json={"weekly": weekly, "overrides": []},
        headers=auth(),
    )
    assert response.status_code == 200, response.text


async def always_open_coachee(
    factory: Factory, *, timezone: str = "UTC", sessions_per_month: int = 2
) -> dict[str, Any]:
    """A coachee (with `coach`) whose coach, in the same zone, is available all day, every day."""
    coach = await factory.coach(timezone=timezone)
    await open_all_week(factory, coach["id"], start="00:00", end="24:00")
    program = await factory.program(sessions_per_month=sessions_per_month)
    coachee = await factory.coachee(coach=coach, program=program, timezone=timezone)
    return {**coachee, "coach": coach}


async def book(
    client: httpx.AsyncClient,
    coachee: dict[str, Any],
    starts_at: str,
    *,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> httpx.Response:
    """POST /v1/sessions for a coachee (as an admin unless headers say otherwise)."""
    body = {"coachee_id": coachee["id"], "starts_at": starts_at, **fields}
    return await client.post("/v1/sessions", json=body, headers=headers or auth())


async def booked(
    client: httpx.AsyncClient, coachee: dict[str, Any], starts_at: str, **fields: Any
) -> dict[str, Any]:
    """Book and insist it worked."""
    response = await book(client, coachee, starts_at, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
