"""Booking, moving and confirming respect the coach's availability, unless the coach overrides."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.scheduling_support import book, booked
from tests.support import Factory, as_coach, as_coachee, auth

# Wednesdays 09:00-12:00 in Berlin; a day off on 2026-12-09, other hours on 2026-12-16.
AVAILABILITY = {
    "weekly": [{"weekday": "wednesday", "start": "09:00", "end": "12:00"}],
    "overrides": [
        {"date": "2026-12-09", "windows": []},
        {"date": "2026-12-16", "windows": [{"start": "14:00", "end": "15:00"}]},
    ],
}


@pytest.fixture
async def coachee(client: httpx.AsyncClient, factory: Factory) -> dict[str, Any]:
    """A coachee whose Berlin coach works Wednesday mornings."""
    coach = await factory.coach(timezone="Europe/Berlin")
    stored = await client.put(
        f"/v1/coaches/{coach['id']}/availability", json=AVAILABILITY, headers=as_coach(coach)
    )
    assert stored.status_code == 200, stored.text
    coachee = await factory.coachee(coach=coach, timezone="Europe/Berlin")
    coachee["coach"] = coach
    return coachee


@pytest.mark.parametrize(
    ("starts_at", "minutes", "fits"),
    [
        ("2026-12-02T09:00:00+01:00", 60, True),
        ("2026-12-02T11:00:00+01:00", 60, True),  # ends exactly at the window's end
        ("2026-12-02T11:01:00+01:00", 60, False),  # one minute past it
        ("2026-12-02T08:59:00+01:00", 60, False),
        ("2026-12-03T10:00:00+01:00", 60, False),  # a Thursday
        ("2026-12-09T10:00:00+01:00", 60, False),  # the day off
        ("2026-12-16T10:00:00+01:00", 60, False),  # other hours that day
        ("2026-12-16T14:00:00+01:00", 60, True),
    ],
)
async def test_window_edges_and_overrides(
    client: httpx.AsyncClient, coachee: dict[str, Any], starts_at: str, minutes: int, fits: bool
) -> None:
    response = await book(
        client, coachee, starts_at, duration_minutes=minutes, headers=as_coachee(coachee)
    )
    if fits:
        assert response.status_code == 201, response.text
    else:
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "outside_availability"


async def test_coach_may_override_and_it_is_recorded(
    client: httpx.AsyncClient, coachee: dict[str, Any]
) -> None:
    thursday = "2026-12-03T18:00:00+01:00"
    session = await booked(
        client, coachee, thursday, override_availability=True, headers=as_coach(coachee["coach"])
    )
    history = await client.get(f"/v1/sessions/{session['id']}/history", headers=auth())
    assert history.json()["items"][0]["override_availability"] is True
    # The monthly limit applies all the same (2 a month).
    await booked(
        client,
        coachee,
        "2026-12-04T18:00:00+01:00",
        override_availability=True,
        headers=as_coach(coachee["coach"]),
    )
    third = await book(
        client,
        coachee,
        "2026-12-05T18:00:00+01:00",
        override_availability=True,
        headers=as_coach(coachee["coach"]),
    )
    assert third.json()["code"] == "monthly_limit_reached"


async def test_reschedule_checks_availability_and_confirm_does_not(
    client: httpx.AsyncClient, coachee: dict[str, Any]
) -> None:
    requested = await booked(
        client,
        coachee,
        "2026-12-02T09:00:00+01:00",
        status="requested",
        headers=as_coachee(coachee),
    )
    path = f"/v1/sessions/{requested['id']}"
    outside = await client.post(
        f"{path}/reschedule",
        json={"starts_at": "2026-12-03T09:00:00+01:00"},
        headers=as_coachee(coachee),
    )
    assert outside.json()["code"] == "outside_availability"
    refused_override = await client.post(
        f"{path}/reschedule",
        json={"starts_at": "2026-12-03T09:00:00+01:00", "override_availability": True},
        headers=as_coachee(coachee),
    )
    assert refused_override.status_code == 403

    # The coach narrows the week; the request now lies outside it.
    narrowed = {"weekly": [{"weekday": "wednesday", "start": "10:00", "end": "12:00"}]}
    await client.put(
        f"/v1/coaches/{coachee['coach']['id']}/availability",
        json={**narrowed, "overrides": []},
        headers=as_coach(coachee["coach"]),
    )
    coach = as_coach(coachee["coach"])
    # Confirming is the coach's consent: the narrowed week does not stand in its way.
    confirmed = await client.post(f"{path}/confirm", headers=coach)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "scheduled"
    moved = await client.post(
        f"{path}/reschedule",
        json={"starts_at": "2026-12-03T20:00:00+01:00", "override_availability": True},
        headers=coach,
    )
    assert moved.status_code == 200
    entries = (await client.get(f"{path}/history", headers=coach)).json()["items"]
    assert [(e["action"], e["override_availability"]) for e in entries] == [
        ("requested", False),
        ("confirmed", False),
        ("rescheduled", True),
    ]
    assert entries[2]["from"]["starts_at"] == "2026-12-02T08:00:00Z"
    assert entries[2]["to"]["starts_at"] == "2026-12-03T19:00:00Z"
