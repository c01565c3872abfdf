"""The booking rules as amended, month edges and clock-change days, through HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.db.models import events
from tests.scheduling_support import book, booked
from tests.support import Clock, Factory, as_coach, as_coachee, auth

Json = dict[str, Any]
ALL_WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


async def coach_with(
    client: httpx.AsyncClient, factory: Factory, timezone: str, weekly: list[Json]
) -> Json:
    """A coach in `timezone` with these weekly windows, set through the API."""
    coach = await factory.coach(timezone=timezone)
    response = await client.put(
        f"/v1/coaches/{coach['id']}/availability",
        json={"weekly": weekly, "overrides": []},
        headers=as_coach(coach),
    )
    assert response.status_code == 200, response.text
    return coach


async def coachee_of(
    client: httpx.AsyncClient,
    factory: Factory,
    *,
    timezone: str = "Europe/Berlin",
    coach_timezone: str | None = None,
    weekly: list[Json] | None = None,
    **program: Any,
) -> Json:
    """A coachee (with `coach`) whose coach is open all day unless `weekly` says otherwise."""
    every_day = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in ALL_WEEK]
    coach = await coach_with(client, factory, coach_timezone or timezone, weekly or every_day)
    made = await factory.program(**{"sessions_per_month": 2, **program})
    coachee = await factory.coachee(coach=coach, program=made, timezone=timezone)
    return {**coachee, "coach": coach}


async def outbox_size(engine: AsyncEngine) -> int:
    """Events written so far (the outbox every e-mail and webhook is made from)."""
    async with engine.connect() as connection:
        return int(
            (await connection.execute(select(func.count()).select_from(events))).scalar_one()
        )


async def months_of(client: httpx.AsyncClient, coachee: Json, first: str, last: str) -> list[Json]:
    response = await client.get(
        f"/v1/coachees/{coachee['id']}/months",
        params={"from": first, "to": last},
        headers=auth(),
    )
    assert response.status_code == 200, response.text
    items: list[Json] = response.json()["items"]
    return items


async def test_a_coachee_cannot_cancel_or_move_a_started_session(
    client: httpx.AsyncClient, factory: Factory, clock: Clock
) -> None:
    coachee = await coachee_of(client, factory, sessions_per_month=1)
    took_place = await booked(client, coachee, "2026-11-23T10:00:00+01:00")
    path = f"/v1/sessions/{took_place['id']}"
    clock.instant = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)

    cancel = await client.post(
        f"{path}/cancel", json={"message": "win it back"}, headers=as_coachee(coachee)
    )
    assert (cancel.status_code, cancel.json()["code"]) == (409, "invalid_transition")
    move = await client.post(
        f"{path}/reschedule",
        json={"starts_at": "2026-11-27T10:00:00+01:00"},
        headers=as_coachee(coachee),
    )
    assert (move.status_code, move.json()["code"]) == (409, "invalid_transition")
    assert "started" in move.json()["detail"]
    # The place stays taken: November is still full.
    refused = await book(client, coachee, "2026-11-28T10:00:00+01:00")
    assert refused.json()["code"] == "monthly_limit_reached"

    # The coach may move a session that did not take place...
    moved = await client.post(
        f"{path}/reschedule",
        json={"starts_at": "2026-11-27T10:00:00+01:00"},
        headers=as_coach(coachee["coach"]),
    )
    assert moved.status_code == 200, moved.text
    # ...and cancel one, which frees its place.
    clock.instant = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    cancelled = await client.post(
        f"{path}/cancel", json={"message": "did not happen"}, headers=as_coach(coachee["coach"])
    )
    assert cancelled.json()["status"] == "cancelled"
    assert (await book(client, coachee, "2026-11-28T10:00:00+01:00")).status_code == 201


async def test_only_the_coachees_late_cancel_counts(
    client: httpx.AsyncClient, factory: Factory, clock: Clock
) -> None:
    coachee = await coachee_of(client, factory, sessions_per_month=2, late_cancel_hours=24)
    by_coach = await booked(client, coachee, "2026-11-21T10:00:00+01:00")
    request = await booked(
        client,
        coachee,
        "2026-11-21T14:00:00+01:00",
        status="requested",
        headers=as_coachee(coachee),
    )
    clock.instant = datetime(2026, 11, 21, 1, tzinfo=UTC)

    cancelled = await client.post(
        f"/v1/sessions/{by_coach['id']}/cancel",
        json={"message": "I am ill"},
        headers=as_coach(coachee["coach"]),
    )
    assert cancelled.json()["status"] == "cancelled"
    declined = await client.post(
        f"/v1/sessions/{request['id']}/cancel",
        json={"message": "Not at that time"},
        headers=auth(),
    )
    assert declined.json()["status"] == "cancelled"
    assert (await months_of(client, coachee, "2026-11", "2026-11"))[0]["used"] == 0

    mine = await booked(client, coachee, "2026-11-21T18:00:00+01:00", headers=as_coachee(coachee))
    late = await client.post(
        f"/v1/sessions/{mine['id']}/cancel", json={"message": "Sorry"}, headers=as_coachee(coachee)
    )
    assert late.json()["status"] == "late_cancelled"
    assert (await months_of(client, coachee, "2026-11", "2026-11"))[0]["used"] == 1


async def test_confirming_does_not_check_availability(
    client: httpx.AsyncClient, factory: Factory, clock: Clock
) -> None:
    tuesday_mornings = [{"weekday": "tuesday", "start": "09:00", "end": "12:00"}]
    coachee = await coachee_of(client, factory, weekly=tuesday_mornings)
    coach = coachee["coach"]
    request = await booked(
        client,
        coachee,
        "2026-12-01T09:00:00+01:00",
        status="requested",
        headers=as_coachee(coachee),
    )
    path = f"/v1/sessions/{request['id']}"
    await client.put(
        f"/v1/coaches/{coach['id']}/availability",
        json={"weekly": [], "overrides": []},
        headers=as_coach(coach),
    )
    confirmed = await client.post(f"{path}/confirm", headers=as_coach(coach))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "scheduled"
    history = (await client.get(f"{path}/history", headers=auth())).json()["items"]
    assert (history[-1]["action"], history[-1]["override_availability"]) == ("confirmed", False)

    late_request = await booked(
        client, coachee, "2026-12-08T10:00:00+01:00", status="requested", override_availability=True
    )
    clock.instant = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
    too_late = await client.post(
        f"/v1/sessions/{late_request['id']}/confirm", headers=as_coach(coach)
    )
    assert (too_late.status_code, too_late.json()["code"]) == (422, "in_the_past")


async def test_moving_to_the_same_time_changes_nothing(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    coachee = await coachee_of(client, factory)
    session = await booked(client, coachee, "2026-12-03T11:00:00+01:00", duration_minutes=45)
    path = f"/v1/sessions/{session['id']}"
    written = await outbox_size(engine)

    # The same instant written in another offset, with and without the same duration.
    for body in (
        {"starts_at": "2026-12-03T10:00:00Z"},
        {"starts_at": "2026-12-03T05:00:00-05:00", "duration_minutes": 45, "message": "same"},
    ):
        same = await client.post(
            f"{path}/reschedule", json=body, headers={**auth(), "If-Match": '"v1"'}
        )
        assert same.status_code == 200, same.text
        assert same.json() == session
        assert same.headers["etag"] == '"v1"'
    history = (await client.get(f"{path}/history", headers=auth())).json()["items"]
    assert [entry["action"] for entry in history] == ["scheduled"]
    assert await outbox_size(engine) == written

    longer = await client.post(
        f"{path}/reschedule",
        json={"starts_at": "2026-12-03T10:00:00Z", "duration_minutes": 60},
        headers=auth(),
    )
    assert (longer.json()["version"], longer.json()["ends_at"]) == (2, "2026-12-03T11:00:00Z")
    assert await outbox_size(engine) == written + 1


# Monday evening until midnight and Tuesday's first hours, in the coach's zone: one window.
EVENING_AND_NIGHT = [
    {"weekday": "monday", "start": "22:00", "end": "24:00"},
    {"weekday": "tuesday", "start": "00:00", "end": "02:00"},
]


async def hour_slots_on(client: httpx.AsyncClient, coachee: Json, day: str) -> list[str]:
    """The starts of the coachee's coach's free hour-long slots on one day, as the coachee."""
    slots = await client.get(
        f"/v1/coaches/{coachee['coach']['id']}/free-slots",
        params={"from": day, "to": day, "duration_minutes": 60},
        headers=as_coachee(coachee),
    )
    assert slots.status_code == 200, slots.text
    return [slot["starts_at"] for slot in slots.json()["items"]]


async def test_windows_touching_at_midnight_form_one_window(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coachee = await coachee_of(
        client,
        factory,
        timezone="Asia/Tokyo",
        coach_timezone="Europe/Berlin",
        weekly=EVENING_AND_NIGHT,
    )
    assert await hour_slots_on(client, coachee, "2026-11-23") == [
        "2026-11-23T21:00:00Z",
        "2026-11-23T21:30:00Z",
        "2026-11-23T22:00:00Z",
        "2026-11-23T22:30:00Z",
    ]
    across = await book(client, coachee, "2026-11-23T23:30:00+01:00", headers=as_coachee(coachee))
    assert across.status_code == 201, across.text
    beyond = await book(client, coachee, "2026-11-24T01:30:00+01:00", headers=as_coachee(coachee))
    assert beyond.json()["code"] == "outside_availability"


async def test_a_slot_running_past_the_last_day_is_clear_of_the_next_days_sessions(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coachee = await coachee_of(client, factory, weekly=EVENING_AND_NIGHT)
    # Tuesday 00:00-01:00 in Berlin: after the day asked for, but Monday's 23:30 slot of an
    # hour would run into it.
    after_midnight = await book(client, coachee, "2026-11-24T00:00:00+01:00", duration_minutes=60)
    assert after_midnight.status_code == 201, after_midnight.text

    assert await hour_slots_on(client, coachee, "2026-11-23") == [
        "2026-11-23T21:00:00Z",
        "2026-11-23T21:30:00Z",
        "2026-11-23T22:00:00Z",
    ]
    refused = await book(client, coachee, "2026-11-23T23:30:00+01:00", duration_minutes=60)
    assert refused.json()["code"] == "time_conflict"


async def test_an_inactive_coachee_has_no_default_slot_nor_free_slots(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coachee = await coachee_of(client, factory)
    paused = await client.patch(
        f"/v1/coachees/{coachee['id']}", json={"status": "paused"}, headers=auth()
    )
    assert paused.status_code == 200, paused.text
    slot = await client.get(f"/v1/coachees/{coachee['id']}/default-slot", headers=auth())
    assert (slot.status_code, slot.json()["code"]) == (409, "coachee_inactive")
    free = await client.get(
        f"/v1/coaches/{coachee['coach']['id']}/free-slots",
        params={"from": "2026-12-01", "to": "2026-12-01", "coachee_id": coachee["id"]},
        headers=auth(),
    )
    assert (free.status_code, free.json()["code"]) == (409, "coachee_inactive")
    # The coach's own free slots do not depend on any coachee.
    coach_only = await client.get(
        f"/v1/coaches/{coachee['coach']['id']}/free-slots",
        params={"from": "2026-12-01", "to": "2026-12-01"},
        headers=auth(),
    )
    assert coach_only.status_code == 200


async def test_a_recurrence_starts_exactly_at_its_first_start(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coachee = await coachee_of(
        client, factory, timezone="America/Los_Angeles", sessions_per_month=8
    )

    async def planned(first: str) -> list[str | None]:
        body = {
            "coachee_id": coachee["id"],
            "recurrence": {"first_starts_at": first, "every_weeks": 1, "count": 2},
            "dry_run": True,
        }
        response = await client.post("/v1/sessions/batch", json=body, headers=auth())
        assert response.status_code == 200, response.text
        return [occurrence["starts_at"] for occurrence in response.json()["occurrences"]]

    # The second 01:30 of the fall-back night (PST) stays the second; a week on, 01:30 PST.
    assert await planned("2027-11-07T01:30:00-08:00") == [
        "2027-11-07T09:30:00Z",
        "2027-11-14T09:30:00Z",
    ]
    # A later occurrence on the repeated hour takes the earlier instant (PDT).
    assert await planned("2027-10-31T01:30:00-07:00") == [
        "2027-10-31T08:30:00Z",
        "2027-11-07T08:30:00Z",
    ]


async def test_a_batch_is_refused_with_the_facts_of_a_single_booking(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coachee = await coachee_of(client, factory)
    for day in ("2026-12-03", "2026-12-10"):
        await booked(client, coachee, f"{day}T10:00:00+01:00")
    single = await book(client, coachee, "2026-12-17T10:00:00+01:00")
    batch = await client.post(
        "/v1/sessions/batch",
        json={"coachee_id": coachee["id"], "starts_at": ["2026-12-17T10:00:00+01:00"]},
        headers=auth(),
    )
    assert (single.status_code, batch.status_code) == (409, 409)
    refused, problem = batch.json(), single.json()
    for fact in ("code", "month", "limit", "used", "usage", "attempted_session_number"):
        assert refused[fact] == problem[fact], fact
    assert refused["next_available_month"] == problem["next_available_month"] == "2027-01"
    assert refused["occurrences"][0]["detail"] == problem["detail"]

    # Another coachee's session blocks the coach: neither path tells a coachee its id.
    other = await factory.coachee(coach=coachee["coach"])
    await booked(client, other, "2027-01-05T10:00:00+01:00")
    when = "2027-01-05T10:30:00+01:00"
    single = await book(client, coachee, when, headers=as_coachee(coachee))
    batch = await client.post(
        "/v1/sessions/batch",
        json={"coachee_id": coachee["id"], "starts_at": [when]},
        headers=as_coachee(coachee),
    )
    assert single.json()["conflicting_session"]["id"] is None
    assert batch.json()["conflicting_session"] == single.json()["conflicting_session"]
    assert batch.json()["occurrences"][0]["detail"] == single.json()["detail"]


async def test_the_month_is_the_coachees_across_auckland_and_los_angeles(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    angeleno = await coachee_of(
        client,
        factory,
        timezone="America/Los_Angeles",
        coach_timezone="Pacific/Auckland",
        sessions_per_month=1,
    )
    # New Year's Eve 23:30 in Los Angeles is already January in UTC and in Auckland.
    eve = await booked(client, angeleno, "2026-12-31T23:30:00-08:00")
    assert (eve["month"], eve["label"]) == ("2026-12", "Session 1 of 1")
    new_year = await booked(client, angeleno, "2027-01-01T00:30:00-08:00")
    assert new_year["month"] == "2027-01"
    full = await book(client, angeleno, "2026-12-31T21:00:00-08:00")
    assert (full.json()["month"], full.json()["next_available_month"]) == ("2026-12", "2027-02")

    aucklander = await coachee_of(
        client,
        factory,
        timezone="Pacific/Auckland",
        coach_timezone="America/Los_Angeles",
        sessions_per_month=1,
    )
    # 00:30 on New Year's Day in Auckland is still December 31 in Los Angeles and in UTC.
    first = await booked(client, aucklander, "2027-01-01T00:30:00+13:00")
    assert first["month"] == "2027-01"
    last_of_year = await booked(client, aucklander, "2026-12-31T23:00:00+13:00")
    assert last_of_year["month"] == "2026-12"
    assert [m["used"] for m in await months_of(client, aucklander, "2026-12", "2027-01")] == [1, 1]
    slots = await client.get(
        f"/v1/coaches/{aucklander['coach']['id']}/free-slots",
        params={
            "from": "2026-12-31",
            "to": "2026-12-31",
            "coachee_id": aucklander["id"],
            "step_minutes": 60,
        },
        headers=auth(),
    )
    flags = {(s["month"], s["month_full"]) for s in slots.json()["items"]}
    # One Los Angeles day spans two Auckland months, both full now.
    assert flags == {("2026-12", True), ("2027-01", True)}


async def test_new_york_and_berlin_change_days(client: httpx.AsyncClient, factory: Factory) -> None:
    sunday_night = [{"weekday": "sunday", "start": "01:00", "end": "04:00"}]
    berlin = await coachee_of(client, factory, weekly=sunday_night, sessions_per_month=8)

    async def starts(coachee: Json, day: str) -> list[str]:
        response = await client.get(
            f"/v1/coaches/{coachee['coach']['id']}/free-slots",
            params={"from": day, "to": day, "duration_minutes": 60, "step_minutes": 60},
            headers=auth(),
        )
        assert response.status_code == 200, response.text
        return [slot["starts_at"] for slot in response.json()["items"]]

    # Spring forward (02:00 -> 03:00): the window holds two hours, not three.
    assert await starts(berlin, "2027-03-28") == ["2027-03-28T00:00:00Z", "2027-03-28T01:00:00Z"]
    across = await booked(client, berlin, "2027-03-28T01:30:00+01:00")
    assert across["ends_at"] == "2027-03-28T01:30:00Z"
    # The window ends at 04:00 CEST, 02:00Z: an hour from 03:30 CEST runs past it.
    past_the_end = await book(client, berlin, "2027-03-28T03:30:00+02:00")
    assert past_the_end.json()["code"] == "outside_availability"
    # Fall back (03:00 -> 02:00): four hours, the repeated one offered twice.
    assert await starts(berlin, "2027-10-31") == [
        "2027-10-30T23:00:00Z",
        "2027-10-31T00:00:00Z",
        "2027-10-31T01:00:00Z",
        "2027-10-31T02:00:00Z",
    ]

    sunday_early = [{"weekday": "sunday", "start": "00:00", "end": "03:00"}]
    new_york = await coachee_of(
        client, factory, timezone="America/New_York", weekly=sunday_early, sessions_per_month=8
    )
    assert await starts(new_york, "2027-03-14") == ["2027-03-14T05:00:00Z", "2027-03-14T06:00:00Z"]
    assert await starts(new_york, "2027-11-07") == [
        "2027-11-07T04:00:00Z",
        "2027-11-07T05:00:00Z",
        "2027-11-07T06:00:00Z",
        "2027-11-07T07:00:00Z",
    ]
    # The second 01:30 (EST) is bookable, and it is still November 7 in New York.
    second = await booked(client, new_york, "2027-11-07T01:30:00-05:00")
    assert (second["starts_at"], second["month"]) == ("2027-11-07T06:30:00Z", "2027-11")
