"""Creates answer with `Location`; every answer carries `X-Request-ID`; logs are JSON lines."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.cli import openapi_document
from session_api.config import Settings
from session_api.logs import JsonFormatter
from session_api.main import create_app
from tests.scheduling_support import always_open_coachee
from tests.support import Factory, as_coach, auth, created


class JsonLines(logging.Handler):
    """Keeps each record as the JSON line the service would write."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    """What the app logs while the test runs, as parsed JSON lines."""
    handler = JsonLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_every_201_declares_location() -> None:
    document = json.loads(openapi_document())
    creates = [
        operation
        for item in document["paths"].values()
        for operation in item.values()
        if "201" in operation["responses"]
    ]
    assert len(creates) >= 7
    for operation in creates:
        assert "Location" in operation["responses"]["201"].get("headers", {}), operation[
            "operationId"
        ]


async def test_each_create_names_what_it_created(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    program = await client.post(
        "/v1/programs", json={"name": "P", "sessions_per_month": 2}, headers=auth()
    )
    coach = await client.post(
        "/v1/coaches",
        json={"name": "C", "email": "c@example.com", "timezone": "UTC"},
        headers=auth(),
    )
    coachee = await always_open_coachee(factory, sessions_per_month=4)
    session = await client.post(
        "/v1/sessions",
        json={"coachee_id": coachee["id"], "starts_at": "2027-01-04T10:00:00Z"},
        headers=auth(),
    )
    batch = await client.post(
        "/v1/sessions/batch",
        json={
            "coachee_id": coachee["id"],
            "starts_at": ["2027-01-05T10:00:00Z", "2027-01-06T10:00:00Z"],
        },
        headers=auth(),
    )
    webhook = await client.post(
        "/v1/webhooks", json={"url": "https://hooks.example.com/in"}, headers=auth()
    )
    for response, collection in (
        (program, "programs"),
        (coach, "coaches"),
        (session, "sessions"),
        (webhook, "webhooks"),
    ):
        body = created(response)
        assert response.headers["location"] == f"/v1/{collection}/{body['id']}"
        shown = await client.get(response.headers["location"], headers=auth())
        assert shown.status_code == 200, collection
        assert shown.json()["id"] == body["id"]
    first = created(batch)["items"][0]
    assert batch.headers["location"] == f"/v1/sessions/{first['id']}"

    key = await client.post(
        f"/v1/coaches/{coachee['coach']['id']}/calendar-key", headers=as_coach(coachee["coach"])
    )
    assert key.headers["location"] == created(key)["url"]
    calendar = await client.get(key.headers["location"])
    assert calendar.status_code == 200
    assert calendar.text.startswith("BEGIN:VCALENDAR")


async def test_a_coachee_create_names_the_coachee(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    program = await factory.program()
    coach = await factory.coach()
    response = await client.post(
        "/v1/coachees",
        json={
            "name": "Maia",
            "email": "maia@example.com",
            "timezone": "Europe/Berlin",
            "program_id": program["id"],
            "coach_id": coach["id"],
        },
        headers=auth(),
    )
    body = created(response)
    assert response.headers["location"] == f"/v1/coachees/{body['id']}"


async def test_a_sane_request_id_is_echoed_and_others_are_replaced(
    client: httpx.AsyncClient,
) -> None:
    mine = await client.get("/healthz", headers={"X-Request-ID": "checkout-42.retry:1"})
    assert mine.headers["x-request-id"] == "checkout-42.retry:1"
    for insane in ("a" * 201, "has space", "maia@example.com", "semi;colon", ""):
        answer = await client.get("/healthz", headers={"X-Request-ID": insane})
        assert answer.headers["x-request-id"] != insane
        assert len(answer.headers["x-request-id"]) == 32
    first, second = await client.get("/nowhere"), await client.get("/v1/programs")
    assert first.status_code == 404
    assert second.status_code == 401
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_each_request_is_one_json_line_with_its_id_route_status_and_duration(
    client: httpx.AsyncClient, factory: Factory, log_lines: list[dict[str, Any]]
) -> None:
    program = await factory.program()
    response = await client.get(
        f"/v1/programs/{program['id']}", headers={**auth(), "X-Request-ID": "trace-7"}
    )
    assert response.status_code == 200
    await client.get("/v1/programs/not-an-id", headers=auth())
    await client.get(
        "/v1/coaches/00000000-0000-0000-0000-000000000000/calendar.ics?key=sekrit-key-123"
    )
    # (The test's own httpx client logs too, in the same context; the app's lines are ours.)
    ours = [line for line in log_lines if line["logger"].startswith("session_api")]
    mine = [line for line in ours if line.get("request_id") == "trace-7"]
    assert len(mine) == 1
    line = mine[0]
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["route"] == "/v1/programs/{program_id}"
    assert line["status"] == 200
    assert 0 < line["duration_ms"] < 10_000
    statuses = {(line["route"], line["status"]) for line in ours}
    assert ("/v1/programs/{program_id}", 404) in statuses
    assert ("/v1/coaches/{coach_id}/calendar.ics", 404) in statuses
    everything = json.dumps(log_lines)
    assert "sekrit-key-123" not in everything
    assert "Bearer" not in everything
    assert "@example.com" not in everything


@pytest.fixture
async def unreachable(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a PostgreSQL address nobody listens on: the database is down."""
    down = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://nobody:pw@127.0.0.1:9/none"}
    )
    app = create_app(down)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_a_database_outage_is_answered_503_and_logged(
    unreachable: httpx.AsyncClient, log_lines: list[dict[str, Any]]
) -> None:
    ready = await unreachable.get("/readyz", headers={"X-Request-ID": "probe-1"})
    listed = await unreachable.get("/v1/programs", headers={**auth(), "X-Request-ID": "call-2"})
    assert ready.status_code == 503
    assert listed.status_code == 503
    assert listed.headers["retry-after"]
    for request in ("probe-1", "call-2"):
        lines = [
            line
            for line in log_lines
            if line.get("request_id") == request and line["logger"].startswith("session_api")
        ]
        warnings = [line for line in lines if line["level"] == "WARNING"]
        assert warnings, lines
        assert "database" in warnings[0]["message"] or "connection" in warnings[0]["message"]
        assert [line["status"] for line in lines if "status" in line] == [503]
