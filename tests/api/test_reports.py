"""The usage report through HTTP (SPEC §1.7): JSON pages and the streamed CSV."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Message, Receive, Scope, Send

from session_api.db.models import coachees
from session_api.services import reports
from tests.scheduling_support import booked, open_all_week
from tests.support import Clock, Factory, as_coach, as_coachee, auth, counting_statements

REPORT = "/v1/reports/usage"
CSV = {"Accept": "text/csv"}
COLUMNS = [
    "coachee_id",
    "coachee_name",
    "program_id",
    "coach_id",
    "month",
    "allowance",
    "completed",
    "no_show",
    "late_cancelled",
    "cancelled",
    "unmarked",
    "ahead",
    "used",
]
ZERO = dict.fromkeys(COLUMNS[6:], 0)


async def cancel(client: httpx.AsyncClient, session: dict[str, Any], headers: Any) -> str:
    """Cancel a session and return the status it ends in."""
    response = await client.post(
        f"/v1/sessions/{session['id']}/cancel", json={"message": "Sorry"}, headers=headers
    )
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def all_pages(
    client: httpx.AsyncClient, params: dict[str, Any], headers: dict[str, str]
) -> list[dict[str, Any]]:
    """Every item of the report, page by page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get(
            REPORT, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    """The rows of a CSV answer, after checking its header line."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0] == COLUMNS
    return [dict(zip(COLUMNS, line, strict=True)) for line in lines[1:]]


def as_text(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    """JSON items as CSV would write them."""
    return [{name: str(item[name]) for name in COLUMNS} for item in items]


@pytest.fixture
async def people(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine, clock: Clock
) -> dict[str, Any]:
    """Ana (Berlin) and Ben with one coach, Eve (Los Angeles) with another, and their sessions.

    Now is 2026-11-21T12:00Z once the fixture is done. Ana: October backfilled (one completed,
    one no-show); November one unmarked (ended yesterday, never marked), one cancelled, one
    late-cancelled, one requested ahead; December one scheduled ahead. Ben: nothing. Eve: one
    scheduled at 2026-12-01T05:00Z, which is still November in Los Angeles.
    """
    program = await factory.program(sessions_per_month=4, late_cancel_hours=48)
    coach, other_coach = await factory.coach(), await factory.coach()
    await open_all_week(factory, coach["id"], start="00:00", end="24:00")
    await open_all_week(factory, other_coach["id"], start="00:00", end="24:00")
    ana = await factory.coachee(program=program, coach=coach, name="Ana")
    ben = await factory.coachee(program=program, coach=coach, name="Ben")
    eve = await factory.coachee(
        program=program, coach=other_coach, name="Eve", timezone="America/Los_Angeles"
    )
    await booked(client, ana, "2026-10-05T09:00:00Z", status="completed")
    await booked(client, ana, "2026-10-12T09:00:00Z", status="no_show")
    await booked(client, ana, "2026-11-20T14:00:00Z")
    cancelled = await booked(client, ana, "2026-11-24T09:00:00Z")
    assert await cancel(client, cancelled, as_coachee(ana)) == "cancelled"
    late = await booked(client, ana, "2026-11-21T09:00:00Z")
    assert await cancel(client, late, as_coachee(ana)) == "late_cancelled"
    await booked(client, ana, "2026-11-27T09:00:00Z", status="requested")
    await booked(client, ana, "2026-12-03T10:00:00Z")
    await booked(client, eve, "2026-12-01T05:00:00Z")
    clock.instant = datetime(2026, 11, 21, 12, tzinfo=UTC)
    return {"ana": ana, "ben": ben, "eve": eve, "coach": coach, "other_coach": other_coach}


def row(person: dict[str, Any], month: str, **counts: int) -> dict[str, Any]:
    """The report item expected for a coachee created by the factory (allowance 4)."""
    return {
        "coachee_id": person["id"],
        "coachee_name": person["name"],
        "program_id": person["program_id"],
        "coach_id": person["coach_id"],
        "month": month,
        "allowance": 4,
        **ZERO,
        **counts,
    }


async def test_each_month_counts_what_took_place_what_is_unmarked_and_what_is_ahead(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    ana, ben, eve = people["ana"], people["ben"], people["eve"]
    response = await client.get(REPORT, params={"from": "2026-09", "to": "2026-12"}, headers=auth())

    assert response.status_code == 200, response.text
    assert response.json() == {
        "items": [
            row(ana, "2026-09"),
            row(ana, "2026-10", completed=1, no_show=1, used=2),
            row(ana, "2026-11", late_cancelled=1, cancelled=1, unmarked=1, ahead=1, used=3),
            row(ana, "2026-12", ahead=1, used=1),
            *(row(ben, month) for month in ("2026-09", "2026-10", "2026-11", "2026-12")),
            row(eve, "2026-09"),
            row(eve, "2026-10"),
            row(eve, "2026-11", ahead=1, used=1),
            row(eve, "2026-12"),
        ],
        "next_cursor": None,
    }


async def test_used_is_the_same_count_the_months_view_gives(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    ana = people["ana"]
    params = {"from": "2026-09", "to": "2026-12"}
    report = await client.get(REPORT, params={**params, "coachee_id": ana["id"]}, headers=auth())
    months = await client.get(f"/v1/coachees/{ana['id']}/months", params=params, headers=auth())

    assert [item["used"] for item in report.json()["items"]] == [
        month["used"] for month in months.json()["items"]
    ]


async def test_the_csv_has_the_same_rows_as_the_json_pages(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    params = {"from": "2026-10", "to": "2026-12"}
    items = await all_pages(client, {**params, "limit": 2}, auth())
    assert len(items) == 9
    assert items == (await client.get(REPORT, params=params, headers=auth())).json()["items"]

    response = await client.get(REPORT, params={**params, "limit": 2}, headers={**auth(), **CSV})

    assert csv_rows(response) == as_text(items)
    assert response.headers["content-disposition"] == (
        'attachment; filename="usage-2026-10-2026-12.csv"'
    )


async def test_json_wins_unless_csv_is_preferred(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    params = {"from": "2026-11", "to": "2026-11"}
    for accept, media_type in (
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("text/csv;q=0.5, application/json", "application/json"),
        ("application/json;q=0.5, text/csv", "text/csv; charset=utf-8"),
        ("text/csv, */*;q=0.1", "text/csv; charset=utf-8"),
    ):
        response = await client.get(REPORT, params=params, headers={**auth(), "Accept": accept})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == media_type, accept


async def test_a_coach_sees_only_their_own_coachees(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    coach, other_coach = people["coach"], people["other_coach"]
    params = {"from": "2026-11", "to": "2026-11"}

    def names(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [item["coachee_name"] for item in response.json()["items"]]

    assert names(await client.get(REPORT, params=params, headers=as_coach(coach))) == [
        "Ana",
        "Ben",
    ]
    assert names(await client.get(REPORT, params=params, headers=as_coach(other_coach))) == ["Eve"]
    # Naming what is out of sight narrows to nothing, as the session lists do; never a 404.
    for narrowed in (
        {"coach_id": other_coach["id"]},
        {"coachee_id": people["eve"]["id"]},
        {"coach_id": str(uuid.uuid4())},
    ):
        response = await client.get(REPORT, params={**params, **narrowed}, headers=as_coach(coach))
        assert names(response) == []
        csv_answer = await client.get(
            REPORT, params={**params, **narrowed}, headers={**as_coach(coach), **CSV}
        )
        assert csv_rows(csv_answer) == []
    assert csv_rows(
        await client.get(REPORT, params=params, headers={**as_coach(coach), **CSV})
    ) == as_text((await client.get(REPORT, params=params, headers=as_coach(coach))).json()["items"])


async def test_a_coachee_sees_only_themself(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    ana, eve = people["ana"], people["eve"]
    params = {"from": "2026-11", "to": "2026-12"}

    own = await client.get(REPORT, params=params, headers=as_coachee(ana))
    assert [(item["coachee_name"], item["month"]) for item in own.json()["items"]] == [
        ("Ana", "2026-11"),
        ("Ana", "2026-12"),
    ]
    other = await client.get(
        REPORT, params={**params, "coachee_id": eve["id"]}, headers=as_coachee(ana)
    )
    assert other.json() == {"items": [], "next_cursor": None}
    as_csv = await client.get(REPORT, params=params, headers={**as_coachee(eve), **CSV})
    assert [line["coachee_name"] for line in csv_rows(as_csv)] == ["Eve", "Eve"]


async def test_filters_by_program_and_coach(
    client: httpx.AsyncClient, factory: Factory, people: dict[str, Any]
) -> None:
    other_program = await factory.program(name="Other")
    zoe = await factory.coachee(program=other_program, coach=people["coach"], name="Zoe")
    params = {"from": "2026-11", "to": "2026-11"}

    by_program = await client.get(
        REPORT, params={**params, "program_id": other_program["id"]}, headers=auth()
    )
    assert [item["coachee_id"] for item in by_program.json()["items"]] == [zoe["id"]]
    assert by_program.json()["items"][0]["allowance"] == 2
    by_coach = await client.get(
        REPORT, params={**params, "coach_id": people["other_coach"]["id"]}, headers=auth()
    )
    assert [item["coachee_name"] for item in by_coach.json()["items"]] == ["Eve"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"from": "2026-13", "to": "2026-12"}, "not a month"),
        ({"from": "2026-1", "to": "2026-12"}, "from"),
        ({"from": "2026-12", "to": "2026-11"}, "before"),
        ({"from": "2025-01", "to": "2027-01"}, "At most 24 months"),
        ({"to": "2026-12"}, "from"),
        ({"from": "2026-11", "to": "2026-12", "limit": 0}, "limit"),
        ({"from": "2026-11", "to": "2026-12", "limit": 201}, "limit"),
        ({"from": "2026-11", "to": "2026-12", "cursor": "not-a-cursor"}, "cursor"),
        ({"from": "2026-11", "to": "2026-12", "coach_id": "nope"}, "coach_id"),
    ],
)
async def test_invalid_queries_are_validation_errors(
    client: httpx.AsyncClient, params: dict[str, Any], fragment: str
) -> None:
    for headers in (auth(), {**auth(), **CSV}):
        response = await client.get(REPORT, params=params, headers=headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
        assert fragment in response.json()["detail"]


async def test_24_months_are_allowed(client: httpx.AsyncClient, factory: Factory) -> None:
    await factory.coachee()
    response = await client.get(REPORT, params={"from": "2025-01", "to": "2026-12"}, headers=auth())
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 24


async def test_a_forged_cursor_position_is_a_validation_error(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.coachee()
    for position in (
        {"name": "A", "id": "x", "month": "2026-11"},
        {"name": 1, "id": str(uuid.uuid4()), "month": "2026-11"},
        {"name": "A", "id": str(uuid.uuid4()), "month": "13"},
    ):
        cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode()
        response = await client.get(
            REPORT, params={"from": "2026-11", "to": "2026-12", "cursor": cursor}, headers=auth()
        )
        assert response.status_code == 422, response.text


# Cost -----------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


async def _many_coachees(engine: AsyncEngine, factory: Factory, count: int) -> None:
    """A program and a coach made through the API, and `count` coachees of theirs in bulk."""
    program = await factory.program()
    coach = await factory.coach(timezone="UTC")
    async with engine.begin() as connection:
        await connection.execute(
            insert(coachees),
            [
                {
                    "id": uuid.uuid4(),
                    "name": f"Coachee {n:03d}",
                    "email": f"c{n}@example.com",
                    "timezone": "UTC",
                    "program_id": uuid.UUID(program["id"]),
                    "coach_id": uuid.UUID(coach["id"]),
                    "status": "active",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for n in range(count)
            ],
        )


async def test_each_json_page_is_one_statement(
    client: httpx.AsyncClient, engine: AsyncEngine, factory: Factory
) -> None:
    await _many_coachees(engine, factory, 60)
    params: dict[str, Any] = {"from": "2026-01", "to": "2026-12", "limit": 50}
    await client.get(REPORT, params=params, headers=auth())  # warm the pool up
    for _ in range(3):
        with counting_statements(engine) as statements:
            response = await client.get(REPORT, params=params, headers=auth())
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == 50
        assert len(statements) == 1, statements
        params["cursor"] = response.json()["next_cursor"]


async def test_the_csv_streams_in_batches_never_the_whole_report_at_once(
    client: httpx.AsyncClient,
    app: FastAPI,
    engine: AsyncEngine,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _many_coachees(engine, factory, 3)
    monkeypatch.setattr(reports, "STREAM_BATCH_SIZE", 5)
    chunks: list[bytes] = []
    streamed: list[bool] = []

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                chunks.append(message["body"])
            await send(message)

        await app(scope, receive, send_and_record)

    def record(*args: Any) -> None:
        if not args[2].startswith("BEGIN"):
            streamed.append(bool(args[4].execution_options.get("stream_results")))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=recording), base_url="http://testserver"
        ) as http:
            response = await http.get(
                REPORT, params={"from": "2026-01", "to": "2026-04"}, headers={**auth(), **CSV}
            )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)

    assert len(csv_rows(response)) == 12
    # 3 coachees x 4 months: the header, then batches of at most 5 rows, each sent as read.
    assert [chunk.count(b"\r\n") for chunk in chunks] == [1, 5, 5, 2]
    if engine.dialect.name == "postgresql":
        # One statement, read through a server-side cursor.
        assert streamed == [True]
    else:
        # Keyset batches, one statement each.
        assert streamed == [False, False, False]
