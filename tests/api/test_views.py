"""The coach's views through HTTP (SPEC §1.5): next sessions, all future, unscheduled coachees."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.db.models import coachees, sessions
from session_api.domain.months import month_of
from tests.support import Clock, Factory, as_coach, as_coachee, auth, counting_statements

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def at(text: str) -> datetime:
    """An instant written as a UTC date-time, e.g. "2026-11-21T09:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def session_values(
    coachee: dict[str, Any], starts_at: datetime, status: str = "scheduled", minutes: int = 60
) -> dict[str, Any]:
    """A sessions row for a coachee, its month in the coachee's zone."""
    return {
        "id": uuid.uuid4(),
        "coachee_id": uuid.UUID(str(coachee["id"])),
        "coach_id": uuid.UUID(str(coachee["coach_id"])),
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=minutes),
        "month": month_of(starts_at, ZoneInfo(coachee["timezone"])),
        "status": status,
        "created_by": "admin:ops",
        "version": 1,
        "sequence": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }


async def add_session(
    engine: AsyncEngine, coachee: dict[str, Any], starts_at: datetime, status: str = "scheduled"
) -> str:
    """Insert a session directly (the views only read sessions) and return its id."""
    values = session_values(coachee, starts_at, status)
    async with engine.begin() as connection:
        await connection.execute(insert(sessions).values(**values))
    return str(values["id"])


def ordered(ids_and_starts: list[tuple[str, datetime]]) -> list[str]:
    """Session ids in the views' order: by (starts_at, id)."""
    return [id_ for id_, _ in sorted(ids_and_starts, key=lambda p: (p[1], uuid.UUID(p[0])))]


def ids(response: httpx.Response) -> list[str]:
    """The item ids of a 200 answer."""
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# Next sessions ------------------------------------------------------------------------------


async def test_next_sessions_are_each_active_coachees_earliest_open_session(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    program = await factory.program(sessions_per_month=2)
    coach, other_coach = await factory.coach(), await factory.coach()
    ana = await factory.coachee(program=program, coach=coach, name="Ana")
    ben = await factory.coachee(program=program, coach=coach, name="Ben")
    cleo = await factory.coachee(program=program, coach=coach, name="Cleo", status="paused")
    dana = await factory.coachee(program=program, coach=coach, name="Dana")
    eve = await factory.coachee(program=program, coach=other_coach, name="Eve")

    await add_session(engine, ana, at("2026-11-10T09:00"), "completed")
    await add_session(engine, ana, at("2026-11-21T09:00"), "cancelled")
    ana_next = await add_session(engine, ana, at("2026-11-25T09:00"), "requested")
    await add_session(engine, ana, at("2026-12-02T09:00"))
    await add_session(engine, ben, NOW)  # starts right now: no longer ahead
    ben_next = await add_session(engine, ben, at("2026-11-23T09:00"))
    await add_session(engine, cleo, at("2026-11-22T09:00"))
    await add_session(engine, dana, at("2026-11-19T09:00"))
    await add_session(engine, dana, at("2026-11-24T09:00"), "cancelled")
    await add_session(engine, dana, at("2026-11-26T09:00"), "late_cancelled")
    await add_session(engine, eve, at("2026-11-21T10:00"))

    response = await client.get(f"/v1/coaches/{coach['id']}/next-sessions", headers=as_coach(coach))

    assert ids(response) == [ben_next, ana_next]
    ben_item, ana_item = response.json()["items"]
    assert ben_item["coachee_name"] == "Ben"
    assert ben_item["label"] == "Session 2 of 2"  # the session at NOW counts in November
    assert ana_item["coachee_name"] == "Ana"
    assert ana_item["status"] == "requested"
    assert ana_item["label"] == "Session 2 of 2"  # the completed one is first, the cancelled none
    assert ana_item["month"] == "2026-11"
    assert ana_item["duration_minutes"] == 60
    assert ana_item["coach_id"] == coach["id"]
    assert ana_item["cancellation"] is None
    as_admin = await client.get(f"/v1/coaches/{coach['id']}/next-sessions", headers=auth())
    assert as_admin.json() == response.json()
    theirs = await client.get(f"/v1/coaches/{other_coach['id']}/next-sessions", headers=auth())
    assert [item["coachee_name"] for item in theirs.json()["items"]] == ["Eve"]


async def test_next_sessions_access(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    coach, other_coach = await factory.coach(), await factory.coach()
    ana = await factory.coachee(coach=coach, name="Ana")
    ben = await factory.coachee(coach=coach, name="Ben")
    eve = await factory.coachee(coach=other_coach, name="Eve")
    ana_next = await add_session(engine, ana, at("2026-11-23T09:00"))
    await add_session(engine, ben, at("2026-11-22T09:00"))
    path = f"/v1/coaches/{coach['id']}/next-sessions"

    assert ids(await client.get(path, headers=as_coachee(ana))) == [ana_next]
    for headers in (as_coach(other_coach), as_coachee(eve)):
        hidden = await client.get(path, headers=headers)
        assert hidden.status_code == 404
        assert hidden.headers["content-type"] == "application/problem+json"
        assert hidden.json()["code"] == "not_found"
    for missing in (f"/v1/coaches/{uuid.uuid4()}/next-sessions", "/v1/coaches/42/next-sessions"):
        assert (await client.get(missing, headers=auth())).status_code == 404
    assert (await client.get(path)).status_code == 401


# All future sessions ------------------------------------------------------------------------


async def test_all_future_lists_open_sessions_in_order_with_filters(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    program = await factory.program(sessions_per_month=4)
    coach, other_coach = await factory.coach(), await factory.coach()
    ana = await factory.coachee(program=program, coach=coach, name="Ana")
    ben = await factory.coachee(program=program, coach=coach, name="Ben", status="paused")
    cleo = await factory.coachee(program=program, coach=other_coach, name="Cleo")
    await add_session(engine, ana, at("2026-11-18T09:00"), "completed")
    await add_session(engine, ana, at("2026-11-19T09:00"))  # past, never marked
    await add_session(engine, ana, at("2026-11-21T08:00"), "cancelled")
    await add_session(engine, ana, at("2026-11-22T08:00"), "late_cancelled")
    ana_1 = await add_session(engine, ana, at("2026-11-21T09:00"))
    ana_2 = await add_session(engine, ana, at("2026-12-01T09:00"), "requested")
    ben_1 = await add_session(engine, ben, at("2026-11-21T09:00"))  # same start as ana_1
    cleo_1 = await add_session(engine, cleo, at("2026-11-24T09:00"))
    starts = {
        ana_1: at("2026-11-21T09:00"),
        ana_2: at("2026-12-01T09:00"),
        ben_1: at("2026-11-21T09:00"),
        cleo_1: at("2026-11-24T09:00"),
    }

    def expected(*chosen: str) -> list[str]:
        return ordered([(id_, starts[id_]) for id_ in chosen])

    async def listed(headers: dict[str, str], **params: Any) -> list[str]:
        return ids(await client.get("/v1/sessions", params=params, headers=headers))

    everything = await client.get("/v1/sessions", headers=auth())
    assert ids(everything) == expected(ana_1, ana_2, ben_1, cleo_1)
    assert everything.json()["next_cursor"] is None
    items = {item["id"]: item for item in everything.json()["items"]}
    assert {id_: (item["coachee_name"], item["label"]) for id_, item in items.items()} == {
        ana_1: ("Ana", "Session 3 of 4"),  # after the completed and the unmarked past session
        ana_2: ("Ana", "Session 1 of 4"),
        ben_1: ("Ben", "Session 1 of 4"),
        cleo_1: ("Cleo", "Session 1 of 4"),
    }

    assert await listed(auth(), view="all-future") == expected(ana_1, ana_2, ben_1, cleo_1)
    assert await listed(auth(), coach_id=other_coach["id"]) == [cleo_1]
    assert await listed(auth(), coachee_id=ana["id"]) == expected(ana_1, ana_2)
    assert await listed(auth(), status="requested") == [ana_2]
    assert await listed(auth(), status="scheduled") == expected(ana_1, ben_1, cleo_1)
    assert await listed(auth(), **{"from": "2026-11-21T09:00:00Z"}) == expected(
        ana_1, ana_2, ben_1, cleo_1
    )
    assert await listed(
        auth(), **{"from": "2026-11-21T10:00:00+01:00", "to": "2026-12-01T10:00:00+01:00"}
    ) == expected(ana_1, ben_1, cleo_1)
    assert await listed(auth(), **{"from": "2026-11-21T09:00:01Z"}) == expected(ana_2, cleo_1)

    assert await listed(as_coach(coach)) == expected(ana_1, ana_2, ben_1)
    assert await listed(as_coach(coach), coach_id=other_coach["id"]) == []
    assert await listed(as_coach(coach), coachee_id=cleo["id"]) == []
    assert await listed(as_coachee(ana)) == expected(ana_1, ana_2)
    assert await listed(as_coachee(ana), coachee_id=ben["id"]) == []
    assert await listed(as_coachee(cleo), coach_id=coach["id"]) == []


async def test_all_future_refuses_unreadable_queries(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    ana = await factory.coachee()
    await add_session(engine, ana, at("2026-11-21T09:00"))

    def cursor_of(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    refused: list[dict[str, Any]] = [
        {"view": "all-past"},
        {"limit": 0},
        {"limit": 201},
        {"limit": "many"},
        {"status": "cancelled"},
        {"coach_id": "42"},
        {"from": "2026-11-21T09:00:00"},  # no offset
        {"from": "2026-11-22T00:00:00Z", "to": "2026-11-21T00:00:00Z"},
        {"cursor": "%%%"},
        {"cursor": "not-base64-json"},
        {"cursor": cursor_of(b"[1, 2]")},
        {"cursor": cursor_of(b'{"id": "x"}')},
        {"cursor": cursor_of(b'{"starts_at": "2026-11-21T09:00:00", "id": "' + b"0" * 32 + b'"}')},
        {"cursor": cursor_of(b'{"name": "Ana", "id": "' + b"0" * 32 + b'"}')},
        {"cursor": "x" * 501},
    ]
    for params in refused:
        response = await client.get("/v1/sessions", params=params, headers=auth())
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
        assert response.json()["detail"]
    assert (await client.get("/v1/sessions", params={"limit": 200}, headers=auth())).is_success
    assert (await client.get("/v1/sessions")).status_code == 401


async def test_paging_visits_every_session_once_while_sessions_are_added(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    coach = await factory.coach()
    program = await factory.program(sessions_per_month=31)
    people = [await factory.coachee(program=program, coach=coach) for _ in range(3)]
    outsider = await factory.coachee(program=program)
    first_start = at("2026-11-21T09:00")
    original: dict[str, datetime] = {}
    for n in range(10):
        for person in people:  # every start shared by three sessions: ties go by id
            starts_at = first_start + timedelta(hours=n)
            original[await add_session(engine, person, starts_at)] = starts_at
    await add_session(engine, outsider, first_start)

    seen: list[tuple[str, datetime]] = []
    added_later: set[str] = set()
    added_earlier: set[str] = set()
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"coach_id": coach["id"], "limit": 4}
        if cursor is not None:
            params["cursor"] = cursor
        page = await client.get("/v1/sessions", params=params, headers=as_coach(coach))
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [(item["id"], datetime.fromisoformat(item["starts_at"])) for item in body["items"]]
        cursor = body["next_cursor"]
        pages += 1
        if cursor is None:
            break
        last_start = seen[-1][1]
        # Behind the cursor: never listed. Ahead of it: listed exactly once.
        person = people[pages % len(people)]
        added_earlier.add(await add_session(engine, person, last_start - timedelta(minutes=30)))
        added_later.add(
            await add_session(engine, person, first_start + timedelta(days=1, minutes=pages))
        )

    listed = [id_ for id_, _ in seen]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(original) | added_later
    assert not set(listed) & added_earlier
    assert listed == ordered(seen)
    assert pages == -(-len(listed) // 4)


# Unscheduled coachees -----------------------------------------------------------------------


async def test_unscheduled_coachees_come_with_their_default_slot(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine, clock: Clock
) -> None:
    clock.instant = at("2026-11-30T12:00")  # already December on Kiritimati (UTC+14)
    program = await factory.program(sessions_per_month=2)
    ended = await factory.program(sessions_per_month=2, ends_on="2026-10-31")
    later = await factory.program(sessions_per_month=2, starts_on="2027-03-01")
    coach, other_coach = await factory.coach(), await factory.coach()

    async def coachee(name: str, **fields: Any) -> dict[str, Any]:
        fields.setdefault("program", program)
        return await factory.coachee(coach=coach, name=name, **fields)

    ada = await coachee("Ada")
    await add_session(engine, ada, at("2026-11-03T09:00"), "completed")
    await add_session(engine, ada, at("2026-11-10T09:00"), "no_show")
    await add_session(engine, ada, at("2026-12-03T09:00"), "cancelled")
    bea = await coachee("Bea")
    await add_session(engine, bea, at("2026-11-12T09:00"), "completed")
    cy = await coachee("Cy")
    await add_session(engine, cy, at("2026-12-01T09:00"), "requested")
    dee = await coachee("Dee")
    await add_session(engine, dee, at("2026-12-01T09:00"), "cancelled")
    eli = await coachee("Eli", status="paused")
    fay = await coachee("Fay", program=ended)
    gus = await coachee("Gus", program=later)
    hal = await coachee("Hal", timezone="Pacific/Kiritimati")
    await factory.coachee(coach=other_coach, name="Abe")
    path = f"/v1/coaches/{coach['id']}/unscheduled-coachees"

    response = await client.get(path, headers=as_coach(coach))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    slots = {item["name"]: item["default_slot"] for item in body["items"]}
    assert list(slots) == ["Ada", "Bea", "Dee", "Fay", "Gus", "Hal"]
    assert slots["Ada"] == {
        "month": "2026-12",
        "session_number": 1,
        "sessions_per_month": 2,
        "label": "Session 1 of 2",
    }
    assert slots["Bea"] == {
        "month": "2026-11",
        "session_number": 2,
        "sessions_per_month": 2,
        "label": "Session 2 of 2",
    }
    assert slots["Dee"] is not None
    assert (slots["Dee"]["month"], slots["Dee"]["label"]) == ("2026-11", "Session 1 of 2")
    assert slots["Fay"] is None
    assert slots["Gus"] is not None
    assert (slots["Gus"]["month"], slots["Gus"]["label"]) == ("2027-03", "Session 1 of 2")
    assert slots["Hal"] is not None
    assert (slots["Hal"]["month"], slots["Hal"]["label"]) == ("2026-12", "Session 1 of 2")
    first = body["items"][0]
    assert {key: value for key, value in first.items() if key != "default_slot"} == ada

    pages: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(path, params=params, headers=auth())).json()
        pages += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == list(slots)

    # Every active coachee is in exactly one of the two views.
    upcoming = await client.get(f"/v1/coaches/{coach['id']}/next-sessions", headers=auth())
    assert [item["coachee_id"] for item in upcoming.json()["items"]] == [cy["id"]]
    assert eli["id"] not in {item["id"] for item in body["items"]}
    assert {gus["id"], hal["id"], fay["id"]} <= {item["id"] for item in body["items"]}


async def test_unscheduled_coachees_access_and_paging_errors(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    coach, other_coach = await factory.coach(), await factory.coach()
    ada = await factory.coachee(coach=coach, name="Ada")
    cy = await factory.coachee(coach=coach, name="Cy")
    await add_session(engine, cy, at("2026-11-22T09:00"))
    abe = await factory.coachee(coach=other_coach, name="Abe")
    path = f"/v1/coaches/{coach['id']}/unscheduled-coachees"

    assert ids(await client.get(path, headers=as_coachee(ada))) == [ada["id"]]
    assert ids(await client.get(path, headers=as_coachee(cy))) == []
    for headers in (as_coach(other_coach), as_coachee(abe)):
        hidden = await client.get(path, headers=headers)
        assert hidden.status_code == 404
        assert hidden.json()["code"] == "not_found"
    assert (await client.get("/v1/coaches/x/unscheduled-coachees", headers=auth())).status_code == (
        404
    )
    session_cursor = base64.urlsafe_b64encode(
        b'{"starts_at": "2026-11-21T09:00:00+00:00", "id": "' + b"0" * 32 + b'"}'
    ).decode()
    for params in ({"limit": 0}, {"limit": 201}, {"cursor": "%%%"}, {"cursor": session_cursor}):
        refused = await client.get(path, params=params, headers=auth())
        assert refused.status_code == 422, params
        assert refused.json()["code"] == "validation_error"


# Statement counts ---------------------------------------------------------------------------


async def _coach_with_coachees(
    engine: AsyncEngine, factory: Factory, program_id: uuid.UUID, count: int
) -> str:
    """A coach (made through the API) with `count` coachees and their sessions in bulk: a third
    with a session ahead, a third with nothing."""
    coach_id = uuid.UUID((await factory.coach(name="Busy Coach"))["id"])
    people = [
        {
            "id": uuid.uuid4(),
            "name": f"Coachee {n:04d}",
            "email": f"coachee-{n}@example.com",
            "timezone": "Europe/Berlin",
            "program_id": program_id,
            "coach_id": coach_id,
            "status": "active",
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(count)
    ]
    rows: list[dict[str, Any]] = []
    for n, person in enumerate(people):
        if n % 3 == 0:
            continue
        rows.append(session_values(person, NOW - timedelta(days=3, hours=n), "completed"))
        ahead = NOW + timedelta(days=1, hours=n)
        rows.append(session_values(person, ahead, "scheduled" if n % 3 == 1 else "cancelled"))
    async with engine.begin() as connection:
        await connection.execute(insert(coachees), people)
        await connection.execute(insert(sessions), rows)
    return str(coach_id)


async def test_each_view_runs_the_same_few_statements_for_3_and_300_coachees(
    client: httpx.AsyncClient, engine: AsyncEngine, factory: Factory
) -> None:
    program_id = uuid.UUID((await factory.program())["id"])
    small = await _coach_with_coachees(engine, factory, program_id, 3)
    large = await _coach_with_coachees(engine, factory, program_id, 300)

    async def statements_of(coach_id: str, path: str, params: dict[str, Any]) -> tuple[int, int]:
        headers = auth("coach", coach_id)
        await client.get(path, params=params, headers=headers)  # warm the pool up
        with counting_statements(engine) as statements:
            response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return len(statements), len(response.json()["items"])

    counts: dict[str, tuple[int, int]] = {}
    for name, coach_id in (("small", small), ("large", large)):
        for view, path, params in (
            ("next", f"/v1/coaches/{coach_id}/next-sessions", {}),
            ("future", "/v1/sessions", {"coach_id": coach_id, "limit": 50}),
            ("unscheduled", f"/v1/coaches/{coach_id}/unscheduled-coachees", {"limit": 50}),
        ):
            counts[f"{name} {view}"] = await statements_of(coach_id, path, params)

    assert counts["small next"][1] == 1
    assert counts["large next"][1] == 100
    assert counts["large future"][1] == 50
    assert counts["large unscheduled"][1] == 50
    # Next is the view alone (its rows prove the coach is in sight); unscheduled reads the
    # coach's row (access), the view and every coachee's usage.
    expected = {"next": 1, "future": 1, "unscheduled": 3}
    for view, count in expected.items():
        assert counts[f"small {view}"][0] == counts[f"large {view}"][0] == count, counts
