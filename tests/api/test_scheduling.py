"""Scheduling through HTTP: the monthly limit, "Session N of M", transitions and history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.db.models import sessions
from session_api.domain.booking import MAX_SESSION_MINUTES
from tests.scheduling_support import always_open_coachee, book, booked, open_all_week
from tests.support import Clock, Factory, as_coach, as_coachee, auth, counting_statements


@pytest.fixture
async def maia(factory: Factory) -> dict[str, Any]:
    """Maia: 2 sessions a month, in Berlin, with a coach available every day."""
    coach = await factory.coach()
    await open_all_week(factory, coach["id"])
    coachee = await factory.coachee(coach=coach, name="Maia", timezone="Europe/Berlin")
    coachee["coach"] = coach
    return coachee


async def test_maia_example_end_to_end(client: httpx.AsyncClient, maia: dict[str, Any]) -> None:
    for day in ("2026-11-02T10:00:00+01:00", "2026-11-05T10:00:00+01:00"):
        await booked(client, maia, day, status="completed")
    december = [
        await booked(client, maia, "2026-12-03T10:00:00+01:00"),
        await booked(client, maia, "2026-12-10T10:00:00+01:00"),
    ]
    for day in ("2027-01-07T10:00:00+01:00", "2027-01-14T10:00:00+01:00"):
        await booked(client, maia, day)
    february = await booked(client, maia, "2027-02-04T10:00:00+01:00", status="requested")
    assert february["label"] == "Session 1 of 2"
    assert [s["label"] for s in december] == ["Session 1 of 2", "Session 2 of 2"]

    slot = await client.get(f"/v1/coachees/{maia['id']}/default-slot", headers=auth())
    assert slot.json() == {
        "month": "2027-02",
        "session_number": 2,
        "sessions_per_month": 2,
        "label": "Session 2 of 2",
    }

    refused = await book(client, maia, "2026-12-17T10:00:00+01:00")
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "monthly_limit_reached"
    assert problem["month"] == "2026-12"
    assert (problem["limit"], problem["used"], problem["attempted_session_number"]) == (2, 2, 3)
    assert problem["next_available_month"] == "2027-02"
    assert problem["usage"]["scheduled"] == 2
    assert problem["detail"].startswith("Maia already has 2 of 2 sessions in December 2026")

    second = december[1]["id"]
    to_january = await client.post(
        f"/v1/sessions/{second}/reschedule",
        json={"starts_at": "2027-01-21T10:00:00+01:00"},
        headers=auth(),
    )
    assert to_january.status_code == 409
    assert to_january.json()["next_available_month"] == "2027-02"
    within = await client.post(
        f"/v1/sessions/{second}/reschedule",
        json={"starts_at": "2026-12-20T11:00:00+01:00"},
        headers=auth(),
    )
    assert within.status_code == 200, within.text
    assert within.json()["label"] == "Session 2 of 2"
    to_february = await client.post(
        f"/v1/sessions/{second}/reschedule",
        json={"starts_at": "2027-02-11T10:00:00+01:00"},
        headers=auth(),
    )
    assert to_february.status_code == 200, to_february.text
    assert (to_february.json()["month"], to_february.json()["label"]) == (
        "2027-02",
        "Session 2 of 2",
    )

    # December has room again: its second session left for February.
    again = await book(client, maia, "2026-12-17T10:00:00+01:00")
    assert again.status_code == 201
    assert again.json()["label"] == "Session 2 of 2"


async def test_cancel_frees_the_place(client: httpx.AsyncClient, maia: dict[str, Any]) -> None:
    first = await booked(client, maia, "2026-12-03T10:00:00+01:00")
    await booked(client, maia, "2026-12-10T10:00:00+01:00")
    assert (await book(client, maia, "2026-12-17T10:00:00+01:00")).status_code == 409

    cancelled = await client.post(
        f"/v1/sessions/{first['id']}/cancel", json={"message": "Ill"}, headers=auth()
    )
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert (body["session_number"], body["label"]) == (None, None)
    assert body["cancellation"]["message"] == "Ill"
    assert body["cancellation"]["by"] == "admin:ops"
    assert (await book(client, maia, "2026-12-17T10:00:00+01:00")).status_code == 201


async def test_late_cancel_keeps_counting(
    client: httpx.AsyncClient, factory: Factory, clock: Clock
) -> None:
    program = await factory.program(sessions_per_month=1, late_cancel_hours=24)
    coach = await factory.coach()
    await open_all_week(factory, coach["id"])
    coachee = await factory.coachee(program=program, coach=coach)
    session = await booked(client, coachee, "2026-11-21T10:00:00+01:00")
    clock.instant = datetime(2026, 11, 21, 1, tzinfo=UTC)

    late = await client.post(
        f"/v1/sessions/{session['id']}/cancel",
        json={"message": "Sorry"},
        headers=as_coachee(coachee),
    )
    assert late.json()["status"] == "late_cancelled"
    assert late.json()["label"] == "Session 1 of 1"
    refused = await book(client, coachee, "2026-11-28T10:00:00+01:00")
    assert refused.json()["code"] == "monthly_limit_reached"
    assert refused.json()["usage"]["late_cancelled"] == 1
    months = await client.get(
        f"/v1/coachees/{coachee['id']}/months",
        params={"from": "2026-11", "to": "2026-12"},
        headers=auth(),
    )
    assert months.json()["items"][0] == {
        "month": "2026-11",
        "limit": 1,
        "used": 1,
        "remaining": 0,
        "full": True,
        "requested": 0,
        "scheduled": 0,
        "completed": 0,
        "no_show": 0,
        "late_cancelled": 1,
        "cancelled": 0,
    }
    assert months.json()["items"][1]["used"] == 0


async def test_month_is_the_coachees_local_month(
    client: httpx.AsyncClient, factory: Factory, clock: Clock
) -> None:
    coachee = await always_open_coachee(factory, timezone="America/Los_Angeles")

    late_evening = await booked(client, coachee, "2026-12-31T23:00:00-08:00", duration_minutes=30)
    assert late_evening["month"] == "2026-12"
    assert late_evening["starts_at"] == "2027-01-01T07:00:00Z"

    moved = await client.patch(
        f"/v1/coachees/{coachee['id']}", json={"timezone": "Europe/Berlin"}, headers=auth()
    )
    assert moved.status_code == 200
    session = await client.get(f"/v1/sessions/{late_evening['id']}", headers=auth())
    assert session.json()["month"] == "2027-01"


async def test_session_numbers_follow_start_order(
    client: httpx.AsyncClient, maia: dict[str, Any]
) -> None:
    later = await booked(client, maia, "2026-12-20T10:00:00+01:00")
    earlier = await booked(client, maia, "2026-12-05T10:00:00+01:00")
    assert earlier["label"] == "Session 1 of 2"
    reread = await client.get(f"/v1/sessions/{later['id']}", headers=auth())
    assert reread.json()["label"] == "Session 2 of 2"
    assert reread.headers["etag"] == '"v1"'


async def test_lowering_the_limit_cancels_nothing(
    client: httpx.AsyncClient, maia: dict[str, Any]
) -> None:
    first = await booked(client, maia, "2026-12-03T10:00:00+01:00")
    second = await booked(client, maia, "2026-12-10T10:00:00+01:00")
    lowered = await client.patch(
        f"/v1/programs/{maia['program_id']}", json={"sessions_per_month": 1}, headers=auth()
    )
    assert lowered.status_code == 200
    for session in (first, second):
        body = (await client.get(f"/v1/sessions/{session['id']}", headers=auth())).json()
        assert body["status"] == "scheduled"
    refused = await book(client, maia, "2026-12-17T10:00:00+01:00")
    assert (refused.json()["used"], refused.json()["limit"]) == (2, 1)
    # A move within the over-full month still fits: the session keeps its own place.
    within = await client.post(
        f"/v1/sessions/{second['id']}/reschedule",
        json={"starts_at": "2026-12-11T10:00:00+01:00"},
        headers=auth(),
    )
    assert within.status_code == 200
    assert within.json()["label"] == "Session 2 of 1"


@pytest.mark.parametrize(
    ("starts_at", "code", "status"),
    [
        ("2026-11-19T10:00:00+01:00", "in_the_past", 422),
        ("2026-12-03T10:00:00", "validation_error", 422),
        ("2028-01-05T10:00:00+01:00", "outside_program", 422),
    ],
)
async def test_refusals_of_time(
    client: httpx.AsyncClient,
    factory: Factory,
    starts_at: str,
    code: str,
    status: int,
) -> None:
    program = await factory.program(starts_on="2026-11-01", ends_on="2027-12-31")
    coach = await factory.coach()
    await open_all_week(factory, coach["id"])
    coachee = await factory.coachee(program=program, coach=coach)
    response = await book(client, coachee, starts_at)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_program_start_bounds_and_default_slot(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    program = await factory.program(
        sessions_per_month=1, starts_on="2027-03-01", ends_on="2027-03-31"
    )
    coachee = await factory.coachee(program=program)
    early = await book(client, coachee, "2027-02-27T10:00:00+01:00", override_availability=True)
    assert early.json()["code"] == "outside_program"
    slot = await client.get(f"/v1/coachees/{coachee['id']}/default-slot", headers=auth())
    assert slot.json()["month"] == "2027-03"
    await booked(client, coachee, "2027-03-10T10:00:00+01:00", override_availability=True)
    none_left = await client.get(f"/v1/coachees/{coachee['id']}/default-slot", headers=auth())
    assert none_left.status_code == 404
    assert "no month with room" in none_left.json()["detail"]
    refused = await book(client, coachee, "2027-03-17T10:00:00+01:00", override_availability=True)
    assert refused.json()["next_available_month"] is None


async def test_inactive_coachee_gets_nothing_new(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coachee = await factory.coachee(status="paused")
    response = await book(client, coachee, "2026-12-03T10:00:00+01:00", override_availability=True)
    assert response.status_code == 409
    assert response.json()["code"] == "coachee_inactive"


async def test_request_confirm_complete(
    client: httpx.AsyncClient, maia: dict[str, Any], clock: Clock
) -> None:
    requested = await book(
        client,
        maia,
        "2026-12-03T10:00:00+01:00",
        status="requested",
        headers=as_coachee(maia),
    )
    assert requested.status_code == 201, requested.text
    session = requested.json()
    assert (session["status"], session["created_by"]) == ("requested", f"coachee:{maia['id']}")
    path = f"/v1/sessions/{session['id']}"

    by_coachee = await client.post(f"{path}/confirm", headers=as_coachee(maia))
    assert by_coachee.status_code == 403
    confirmed = await client.post(f"{path}/confirm", headers=as_coach(maia["coach"]))
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "scheduled"
    assert confirmed.headers["etag"] == '"v2"'

    early = await client.post(f"{path}/complete", headers=as_coach(maia["coach"]))
    assert early.status_code == 409
    assert early.json()["code"] == "invalid_transition"
    clock.instant = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
    done = await client.post(f"{path}/complete", headers=as_coach(maia["coach"]))
    assert done.json()["status"] == "completed"
    again = await client.post(f"{path}/cancel", json={"message": "x"}, headers=auth())
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"

    history = (await client.get(f"{path}/history", headers=as_coachee(maia))).json()["items"]
    assert [entry["action"] for entry in history] == ["requested", "confirmed", "completed"]
    assert history[0]["from"] is None
    assert history[1]["from"]["status"] == "requested"
    assert history[1]["to"]["status"] == "scheduled"
    assert history[0]["actor"] == f"coachee:{maia['id']}"


async def test_no_show_and_backfill_rules(
    client: httpx.AsyncClient, maia: dict[str, Any], clock: Clock
) -> None:
    session = await booked(client, maia, "2026-11-23T10:00:00+01:00")
    clock.instant = datetime(2026, 11, 23, 10, tzinfo=UTC)
    marked = await client.post(
        f"/v1/sessions/{session['id']}/no-show", headers=as_coach(maia["coach"])
    )
    assert marked.json()["status"] == "no_show"
    assert marked.json()["label"] == "Session 1 of 2"

    by_coach = await book(
        client,
        maia,
        "2026-11-02T10:00:00+01:00",
        status="completed",
        headers=as_coach(maia["coach"]),
    )
    assert by_coach.status_code == 403
    future = await book(client, maia, "2026-12-02T10:00:00+01:00", status="completed")
    assert future.status_code == 422


async def test_if_match_guards_changes(client: httpx.AsyncClient, maia: dict[str, Any]) -> None:
    session = await booked(client, maia, "2026-12-03T10:00:00+01:00")
    path = f"/v1/sessions/{session['id']}/reschedule"
    body = {"starts_at": "2026-12-04T10:00:00+01:00"}
    moved = await client.post(path, json=body, headers={**auth(), "If-Match": '"v1"'})
    assert moved.status_code == 200
    assert moved.headers["etag"] == '"v2"'
    stale = await client.post(path, json=body, headers={**auth(), "If-Match": '"v1"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    assert stale.json()["current_version"] == 2
    for accepted in ('W/"v2"', '"v1", "v2"', "*"):
        again = await client.post(path, json=body, headers={**auth(), "If-Match": accepted})
        assert again.status_code == 200, accepted
    current = again.headers["etag"]
    assert current == '"v2"'  # the same time again changes nothing
    for refused in ('"v02"', "v2", '"2"'):
        answer = await client.post(path, json=body, headers={**auth(), "If-Match": refused})
        assert answer.status_code == 412, refused


async def test_access_to_sessions(
    client: httpx.AsyncClient, factory: Factory, maia: dict[str, Any]
) -> None:
    session = await booked(client, maia, "2026-12-03T10:00:00+01:00")
    stranger_coach = await factory.coach()
    stranger = await factory.coachee(coach=stranger_coach)
    path = f"/v1/sessions/{session['id']}"
    assert (await client.get(path, headers=as_coach(stranger_coach))).status_code == 404
    assert (await client.get(path, headers=as_coachee(stranger))).status_code == 404
    assert (await client.get(path, headers=as_coach(maia["coach"]))).status_code == 200
    assert (await client.get("/v1/sessions/not-an-id", headers=auth())).status_code == 404
    foreign = await book(
        client, maia, "2026-12-05T10:00:00+01:00", headers=as_coach(stranger_coach)
    )
    assert foreign.status_code == 404
    cancel = await client.post(
        f"{path}/cancel", json={"message": "no"}, headers=as_coachee(stranger)
    )
    assert cancel.status_code == 404
    override = await book(
        client,
        maia,
        "2026-12-06T10:00:00+01:00",
        headers=as_coachee(maia),
        override_availability=True,
    )
    assert override.status_code == 403
    assert override.json()["code"] == "forbidden"


@pytest.mark.parametrize(
    "body",
    [
        {"message": ""},
        {"message": "x" * 2001},
        {"message": "bell\x07"},
        {},
    ],
)
async def test_cancel_message_is_checked(
    client: httpx.AsyncClient, maia: dict[str, Any], body: dict[str, Any]
) -> None:
    session = await booked(client, maia, "2026-12-03T10:00:00+01:00")
    response = await client.post(f"/v1/sessions/{session['id']}/cancel", json=body, headers=auth())
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_overlaps_are_refused(
    client: httpx.AsyncClient, factory: Factory, maia: dict[str, Any]
) -> None:
    first = await booked(client, maia, "2026-12-03T10:00:00+01:00")
    clash = await book(client, maia, "2026-12-03T10:30:00+01:00", override_availability=True)
    assert clash.status_code == 409
    assert clash.json()["code"] == "time_conflict"
    assert clash.json()["conflicting_session"]["id"] == first["id"]
    touching = await book(client, maia, "2026-12-03T11:00:00+01:00")
    assert touching.status_code == 201
    other = await factory.coachee(coach=maia["coach"])
    same_coach = await book(client, other, "2026-12-03T10:15:00+01:00", headers=as_coachee(other))
    assert same_coach.json()["code"] == "time_conflict"
    assert same_coach.json()["conflicting_session"]["id"] is None


async def test_the_longest_session_blocks_to_its_last_minute(
    client: httpx.AsyncClient, factory: Factory, maia: dict[str, Any]
) -> None:
    """The overlap check scans from MAX_SESSION_MINUTES before a start, never less."""
    longest = await booked(
        client, maia, "2026-12-03T08:00:00+01:00", duration_minutes=MAX_SESSION_MINUTES
    )
    clash = await book(client, maia, "2026-12-03T11:45:00+01:00", duration_minutes=15)
    assert clash.json()["code"] == "time_conflict"
    assert clash.json()["conflicting_session"]["id"] == longest["id"]
    other = await factory.coachee(coach=maia["coach"])
    same_coach = await book(
        client, other, "2026-12-03T11:45:00+01:00", duration_minutes=15, headers=as_coachee(other)
    )
    assert same_coach.json()["code"] == "time_conflict"
    after = await booked(client, maia, "2026-12-03T12:00:00+01:00")
    moved = await client.post(
        f"/v1/sessions/{after['id']}/reschedule",
        json={"starts_at": "2026-12-03T11:45:00+01:00"},
        headers=auth(),
    )
    assert moved.json()["code"] == "time_conflict"
    assert moved.json()["conflicting_session"]["id"] == longest["id"]


async def test_the_database_bounds_a_sessions_length_like_the_domain(
    client: httpx.AsyncClient, maia: dict[str, Any], engine: AsyncEngine
) -> None:
    """The overlap check relies on it: no stored session lasts over MAX_SESSION_MINUTES."""
    session = await booked(client, maia, "2026-12-03T08:00:00+01:00", duration_minutes=15)
    starts_at = datetime.fromisoformat(session["starts_at"])

    async def stores(minutes: int) -> bool:
        change = (
            update(sessions)
            .where(sessions.c.id == uuid.UUID(session["id"]))
            .values(ends_at=starts_at + timedelta(minutes=minutes))
        )
        async with engine.connect() as connection:
            try:
                await connection.execute(change)
            except IntegrityError:
                return False
            finally:
                await connection.rollback()
        return True

    assert await stores(MAX_SESSION_MINUTES)
    assert not await stores(MAX_SESSION_MINUTES + 1)


@pytest.mark.parametrize(
    "starts_at",
    ["9999-12-31T23:00:00+00:00", "0001-01-01T00:00:00+14:00", "9001-01-01T00:00:00+00:00"],
)
async def test_instants_at_the_ends_of_the_calendar_are_refused(
    client: httpx.AsyncClient, maia: dict[str, Any], starts_at: str
) -> None:
    response = await book(client, maia, starts_at, duration_minutes=240)
    assert response.status_code == 422
    assert "between the years 1900 and 9000" in response.json()["detail"]
    batch = await client.post(
        "/v1/sessions/batch",
        json={
            "coachee_id": maia["id"],
            "recurrence": {"first_starts_at": starts_at, "every_weeks": 8, "count": 24},
        },
        headers=auth(),
    )
    assert batch.status_code == 422


async def test_a_write_answers_with_the_numbers_a_read_gives(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # The writes number the session inside the statement that writes it; a read numbers it
    # afterwards. Moving a session past others, or ahead of them, must agree either way.
    coachee = await always_open_coachee(factory, sessions_per_month=4)
    later = await booked(client, coachee, "2026-12-20T10:00:00+00:00")
    earlier = await booked(client, coachee, "2026-12-10T10:00:00+00:00")
    latest = await booked(client, coachee, "2026-12-28T10:00:00+00:00")
    assert [later["session_number"], earlier["session_number"], latest["session_number"]] == [
        1,
        1,
        3,
    ]
    answers = [
        await client.post(
            f"/v1/sessions/{earlier['id']}/reschedule",
            json={"starts_at": "2026-12-24T10:00:00+00:00"},
            headers=auth(),
        ),
        await client.post(
            f"/v1/sessions/{latest['id']}/reschedule",
            json={"starts_at": "2026-12-05T10:00:00+00:00"},
            headers=auth(),
        ),
        await client.post(
            f"/v1/sessions/{later['id']}/cancel", json={"message": "moved away"}, headers=auth()
        ),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        read = await client.get(f"/v1/sessions/{answer.json()['id']}", headers=auth())
        assert answer.json() == read.json()
    assert [answer.json()["session_number"] for answer in answers] == [2, 1, None]


@pytest.mark.slow
async def test_booking_statements_do_not_grow_with_the_data(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    coachee = await always_open_coachee(factory, sessions_per_month=31)
    counts = []
    with counting_statements(engine) as statements:
        for day in range(1, 31):
            statements.clear()
            session = await booked(client, coachee, f"2026-12-{day:02d}T10:00:00+00:00")
            counts.append(len(statements))
        statements.clear()
        moved = await client.post(
            f"/v1/sessions/{session['id']}/reschedule",
            json={"starts_at": "2026-12-30T12:00:00+00:00"},
            headers=auth(),
        )
        assert moved.status_code == 200
        reschedule = len(statements)
        statements.clear()
        cancelled = await client.post(
            f"/v1/sessions/{session['id']}/cancel", json={"message": "ill"}, headers=auth()
        )
        assert cancelled.status_code == 200
        cancel = len(statements)
    assert set(counts) == {counts[0]}
    if engine.dialect.name == "postgresql":
        # The lock; the conflict check and the months' usage in one statement (cancel: the
        # month's usage); the write with its history entry and outbox rows, answering
        # numbered, in one statement.
        assert (counts[0], reschedule, cancel) == (3, 3, 3)
    else:
        # SQLite runs in-process: the history, the outbox and the read-back stay apart.
        assert (counts[0], reschedule, cancel) == (6, 6, 6)


async def test_a_new_coach_takes_over_the_sessions_ahead(
    client: httpx.AsyncClient,
    factory: Factory,
    engine: AsyncEngine,
    maia: dict[str, Any],
    clock: Clock,
) -> None:
    old_coach = maia["coach"]
    past = await booked(client, maia, "2026-11-23T10:00:00+01:00")
    ahead = await booked(client, maia, "2026-12-03T10:00:00+01:00")
    clock.instant = datetime(2026, 11, 25, tzinfo=UTC)
    busy_coach = await factory.coach()
    await open_all_week(factory, busy_coach["id"])
    other = await factory.coachee(coach=busy_coach)
    blocking = await booked(client, other, "2026-12-03T10:30:00+01:00")

    refused = await client.patch(
        f"/v1/coachees/{maia['id']}", json={"coach_id": busy_coach["id"]}, headers=auth()
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "time_conflict"
    assert refused.json()["conflicting_session"]["id"] == blocking["id"]
    assert ahead["id"] in refused.json()["detail"]
    assert (await client.get(f"/v1/coachees/{maia['id']}", headers=auth())).json()[
        "coach_id"
    ] == old_coach["id"]

    new_coach = await factory.coach()
    async with engine.connect() as connection:
        events_before = (await connection.execute(text("SELECT count(*) FROM events"))).scalar()
    moved = await client.patch(
        f"/v1/coachees/{maia['id']}", json={"coach_id": new_coach["id"]}, headers=auth()
    )
    assert moved.status_code == 200
    async with engine.connect() as connection:
        events_after = (await connection.execute(text("SELECT count(*) FROM events"))).scalar()
    # No event type of the contract describes a hand-over: none is sent.
    assert events_after == events_before
    now_ahead = (
        await client.get(f"/v1/sessions/{ahead['id']}", headers=as_coach(new_coach))
    ).json()
    assert (now_ahead["coach_id"], now_ahead["version"]) == (new_coach["id"], 2)
    kept = (await client.get(f"/v1/sessions/{past['id']}", headers=auth())).json()
    assert kept["coach_id"] == old_coach["id"]
    history = await client.get(f"/v1/sessions/{ahead['id']}/history", headers=auth())
    assert history.json()["items"][-1]["action"] == "reassigned"
    # The new coach's calendar now holds the session: it blocks their other coachees.
    await open_all_week(factory, new_coach["id"])
    someone = await factory.coachee(coach=new_coach)
    clash = await book(client, someone, "2026-12-03T10:15:00+01:00")
    assert clash.json()["code"] == "time_conflict"
