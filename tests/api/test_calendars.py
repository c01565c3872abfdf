"""`invite.ics` and `calendar.ics`: what they say as a session changes, and who may read them."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.db.models import coaches, idempotency_records
from session_api.notify.ics import uid_for
from tests.scheduling_support import booked, open_all_week
from tests.support import Clock, Factory, as_coach, as_coachee, auth


@pytest.fixture
async def maia(factory: Factory) -> dict[str, Any]:
    """Maia, 4 sessions a month, with a coach available every day."""
    coach = await factory.coach(name="Ana Coach")
    await open_all_week(factory, coach["id"])
    program = await factory.program(sessions_per_month=4)
    coachee = await factory.coachee(coach=coach, program=program, name="Maia")
    coachee["coach"] = coach
    return coachee


async def _ics(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Calendar:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def _facts(calendar: Calendar) -> tuple[str, str, int, str]:
    (event,) = calendar.events
    return (
        str(calendar["METHOD"]),
        str(event["UID"]),
        event.sequence,
        str(event["STATUS"]),
    )


async def test_the_invite_follows_the_session_with_one_uid_and_a_rising_sequence(
    client: httpx.AsyncClient, maia: dict[str, Any]
) -> None:
    session = await booked(client, maia, "2026-12-03T10:00:00+01:00", status="requested")
    path = f"/v1/sessions/{session['id']}/invite.ics"
    uid = uid_for(uuid.UUID(session["id"]))

    requested = await _ics(client, path, as_coachee(maia))
    (event,) = requested.events
    assert _facts(requested) == ("REQUEST", uid, 0, "TENTATIVE")
    assert event["SUMMARY"] == "Coaching: Maia with Ana Coach (Session 1 of 4)"
    assert event.start.isoformat() == "2026-12-03T09:00:00+00:00"

    await client.post(f"/v1/sessions/{session['id']}/confirm", json={}, headers=auth())
    assert _facts(await _ics(client, path, auth())) == ("REQUEST", uid, 0, "CONFIRMED")
    await client.post(
        f"/v1/sessions/{session['id']}/reschedule",
        json={"starts_at": "2026-12-04T10:00:00+01:00"},
        headers=auth(),
    )
    moved = await _ics(client, path, as_coach(maia["coach"]))
    assert _facts(moved) == ("REQUEST", uid, 1, "CONFIRMED")
    assert moved.events[0].start.isoformat() == "2026-12-04T09:00:00+00:00"
    await client.post(
        f"/v1/sessions/{session['id']}/cancel", json={"message": "Ill"}, headers=auth()
    )
    assert _facts(await _ics(client, path, auth())) == ("CANCEL", uid, 2, "CANCELLED")


async def test_the_invite_is_for_whoever_may_see_the_session(
    client: httpx.AsyncClient, maia: dict[str, Any], factory: Factory
) -> None:
    session = await booked(client, maia, "2026-12-03T10:00:00+01:00")
    path = f"/v1/sessions/{session['id']}/invite.ics"
    stranger = await factory.coachee()
    other_coach = await factory.coach()

    for headers in (as_coachee(stranger), as_coach(other_coach)):
        response = await client.get(path, headers=headers)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert (await client.get(path)).status_code == 401
    assert (await client.get("/v1/sessions/nope/invite.ics", headers=auth())).status_code == 404
    unknown = await client.get(f"/v1/sessions/{uuid.uuid4()}/invite.ics", headers=auth())
    assert unknown.status_code == 404


async def test_the_coach_calendar_lists_future_open_sessions(
    client: httpx.AsyncClient, maia: dict[str, Any], factory: Factory, clock: Clock
) -> None:
    coach = maia["coach"]
    past = await booked(client, maia, "2026-11-02T10:00:00+01:00", status="completed")
    kept = await booked(client, maia, "2026-12-03T10:00:00+01:00")
    asked = await booked(client, maia, "2026-12-01T10:00:00+01:00", status="requested")
    dropped = await booked(client, maia, "2026-12-05T10:00:00+01:00")
    await client.post(
        f"/v1/sessions/{dropped['id']}/cancel", json={"message": "No"}, headers=auth()
    )
    other = await factory.coachee(coach=coach, name="Noor")
    await booked(client, other, "2026-12-02T10:00:00+01:00")

    calendar = await _ics(client, f"/v1/coaches/{coach['id']}/calendar.ics", as_coach(coach))

    assert str(calendar["METHOD"]) == "PUBLISH"
    uids = [str(event["UID"]) for event in calendar.events]
    assert uids[0] == uid_for(uuid.UUID(asked["id"]))
    assert uids[2] == uid_for(uuid.UUID(kept["id"]))
    assert len(uids) == 3
    assert uid_for(uuid.UUID(past["id"])) not in uids
    assert uid_for(uuid.UUID(dropped["id"])) not in uids

    clock.instant += timedelta(days=20)
    later = await _ics(client, f"/v1/coaches/{coach['id']}/calendar.ics", auth())
    assert later.events == []


async def test_only_the_coach_and_admins_read_the_coach_calendar(
    client: httpx.AsyncClient, maia: dict[str, Any], factory: Factory
) -> None:
    path = f"/v1/coaches/{maia['coach']['id']}/calendar.ics"
    forbidden = await client.get(path, headers=as_coachee(maia))
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
    hidden = await client.get(path, headers=as_coach(await factory.coach()))
    assert hidden.status_code == 404
    stranger = await client.get(path, headers=as_coachee(await factory.coachee()))
    assert stranger.status_code == 404
    assert (await client.get(path, headers=auth())).status_code == 200
    unknown = await client.get(f"/v1/coaches/{uuid.uuid4()}/calendar.ics", headers=auth())
    assert unknown.status_code == 404


async def test_calendar_apps_subscribe_with_the_coachs_key(
    client: httpx.AsyncClient, factory: Factory, maia: dict[str, Any]
) -> None:
    coach = maia["coach"]
    await booked(client, maia, "2026-12-03T10:00:00+01:00")
    path = f"/v1/coaches/{coach['id']}/calendar.ics"
    assert (await client.get(path)).status_code == 401

    created = await client.post(f"/v1/coaches/{coach['id']}/calendar-key", headers=as_coach(coach))
    assert created.status_code == 201
    url = created.json()["url"]
    assert url == f"{path}?key={created.json()['key']}"
    feed = await _ics(client, url, {})
    assert len(feed.events) == 1

    assert (await client.get(f"{path}?key=guess")).status_code == 404
    rotated = await client.post(f"/v1/coaches/{coach['id']}/calendar-key", headers=auth())
    assert (await client.get(url)).status_code == 404
    assert (await client.get(rotated.json()["url"])).status_code == 200

    stranger = await factory.coach()
    other = f"/v1/coaches/{stranger['id']}/calendar.ics?key={rotated.json()['key']}"
    assert (await client.get(other)).status_code == 404
    by_coachee = await client.post(
        f"/v1/coaches/{coach['id']}/calendar-key", headers=as_coachee(maia)
    )
    assert by_coachee.status_code == 403
    by_stranger = await client.post(
        f"/v1/coaches/{coach['id']}/calendar-key", headers=as_coach(stranger)
    )
    assert by_stranger.status_code == 404


async def test_a_calendar_key_is_stored_only_as_its_digest(
    client: httpx.AsyncClient, engine: AsyncEngine, maia: dict[str, Any]
) -> None:
    coach = maia["coach"]
    created = await client.post(f"/v1/coaches/{coach['id']}/calendar-key", headers=as_coach(coach))
    key = created.json()["key"]
    assert created.headers["cache-control"] == "no-store"

    async with engine.connect() as connection:
        stored = (await connection.execute(select(coaches))).all()
    assert key not in repr(stored)
    assert hashlib.sha256(key.encode()).hexdigest() in repr(stored)
    assert (await client.get(created.json()["url"])).status_code == 200


async def test_a_retried_calendar_key_is_a_new_key_and_never_kept(
    client: httpx.AsyncClient, engine: AsyncEngine, maia: dict[str, Any]
) -> None:
    coach = maia["coach"]
    path = f"/v1/coaches/{coach['id']}/calendar-key"
    headers = {**as_coach(coach), "Idempotency-Key": "calendar-key-1"}
    first = await client.post(path, headers=headers)
    retried = await client.post(path, headers=headers)

    assert (first.status_code, retried.status_code) == (201, 201)
    assert "idempotent-replayed" not in retried.headers
    assert retried.json()["key"] != first.json()["key"]
    assert (await client.get(first.json()["url"])).status_code == 404
    assert (await client.get(retried.json()["url"])).status_code == 200
    async with engine.connect() as connection:
        kept = (await connection.execute(select(idempotency_records))).all()
    assert first.json()["key"] not in repr(kept)
    assert retried.json()["key"] not in repr(kept)
