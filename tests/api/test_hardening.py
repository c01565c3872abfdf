"""Crafted requests answer problems, never a 500: cursors, instants, text, tokens, bodies."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from collections.abc import AsyncIterator, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.api.deps import QueryCheckedRoute
from session_api.api.metrics import every_route
from session_api.config import Settings
from session_api.db.models import idempotency_records
from session_api.logs import redact
from session_api.main import create_app
from session_api.services.context import Context
from tests.scheduling_support import always_open_coachee, booked
from tests.support import JWT_SECRET, Clock, Factory, auth, token


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


# 1. Idempotency ---------------------------------------------------------------------------


async def test_concurrent_requests_with_one_key_create_one_thing(
    client: httpx.AsyncClient,
) -> None:
    headers = {**auth(), "Idempotency-Key": "together"}
    body = {"name": "Together", "sessions_per_month": 2}
    answers = await asyncio.gather(
        *(client.post("/v1/programs", json=body, headers=headers) for _ in range(10))
    )
    listed = (await client.get("/v1/programs", headers=auth())).json()["items"]
    assert len(listed) == 1
    for answer in answers:
        if answer.status_code == 201:
            assert answer.json()["id"] == listed[0]["id"]
        else:
            _problem(answer, 409, "idempotency_key_in_use")


async def test_a_failed_request_frees_its_key(client: httpx.AsyncClient) -> None:
    headers = {**auth(), "Idempotency-Key": "no-such-coachee"}
    body = {"coachee_id": str(uuid.uuid4()), "starts_at": "2026-12-03T10:00:00+01:00"}
    first = await client.post("/v1/sessions", json=body, headers=headers)
    again = await client.post("/v1/sessions", json=body, headers=headers)
    _problem(first, 404, "not_found")
    assert again.headers["idempotent-replayed"] == "true"


async def test_no_copy_of_a_webhook_secret_is_kept_for_replays(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    headers = {**auth(), "Idempotency-Key": "hook"}
    body = {"url": "https://hooks.example.com/in"}
    first = await client.post("/v1/webhooks", json=body, headers=headers)
    replay = await client.post("/v1/webhooks", json=body, headers=headers)
    assert first.status_code == replay.status_code == 201
    secret = first.json()["secret"]
    assert replay.json() == {**first.json(), "secret": "redacted"}
    async with engine.connect() as connection:
        kept = (await connection.execute(select(idempotency_records.c.response_body))).all()
    assert kept
    assert all(secret not in row.response_body for row in kept)


# 2. Crafted input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/v1/sessions", _cursor({"starts_at": "2026-12-03T10:00:00+00:00", "id": 5})),
        ("/v1/sessions", _cursor(["2026-12-03T10:00:00+00:00", 5])),
        ("/v1/sessions", _cursor(["0001-01-01T00:00:00+01:00", str(uuid.uuid4())])),
        ("/v1/sessions", _cursor(["2026-12-03T10:00:00", str(uuid.uuid4())])),
        ("/v1/programs", _cursor({"id": 5})),
        ("/v1/programs", _cursor([str(uuid.uuid4()), "extra"])),
        ("/v1/events", _cursor([2**63])),
        ("/v1/events", _cursor([-1])),
        ("/v1/events", _cursor([True])),
        ("/v1/events", "%%%"),
        ("/v1/events", _cursor("x" * 300)),
    ],
)
async def test_forged_cursors_are_refused(
    client: httpx.AsyncClient, path: str, cursor: str
) -> None:
    response = await client.get(path, params={"cursor": cursor}, headers=auth())
    _problem(response, 422, "validation_error")


async def test_a_forged_unscheduled_coachees_cursor_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coach = await factory.coach()
    response = await client.get(
        f"/v1/coaches/{coach['id']}/unscheduled-coachees",
        params={"cursor": _cursor({"id": 5})},
        headers=auth(),
    )
    _problem(response, 422, "validation_error")


async def test_the_event_feed_pages_with_cursor(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    first = (await client.get("/v1/events", params={"limit": 1}, headers=auth())).json()
    again = await client.get(
        "/v1/events", params={"limit": 1, "cursor": first["next_cursor"]}, headers=auth()
    )
    assert again.status_code == 200
    assert again.json()["next_cursor"] == first["next_cursor"]


@pytest.mark.parametrize("instant", ["0001-01-01T00:00+01:00", "9999-12-31T23:59:59-23:59"])
async def test_instants_at_the_ends_of_the_calendar_are_refused(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine, instant: str
) -> None:
    coachee = await always_open_coachee(factory)
    booking = await client.post(
        "/v1/sessions", json={"coachee_id": coachee["id"], "starts_at": instant}, headers=auth()
    )
    _problem(booking, 422, "validation_error")
    listing = await client.get("/v1/sessions", params={"from": instant}, headers=auth())
    _problem(listing, 422, "validation_error")


@pytest.mark.parametrize("name", ['"Ma\\u0000ia"', '"Ma\\ud800ia"', '"\\udfff"'])
async def test_names_with_nul_or_lone_surrogates_are_refused(
    client: httpx.AsyncClient, name: str
) -> None:
    body = '{"name": ' + name + ', "sessions_per_month": 2}'
    response = await client.post(
        "/v1/programs",
        content=body.encode(),
        headers={**auth(), "content-type": "application/json"},
    )
    _problem(response, 422, "validation_error")


async def test_a_paired_surrogate_is_a_character_like_any_other(
    client: httpx.AsyncClient,
) -> None:
    body = '{"name": "Focus \\ud83c\\udfaf", "sessions_per_month": 2}'
    response = await client.post(
        "/v1/programs",
        content=body.encode(),
        headers={**auth(), "content-type": "application/json"},
    )
    assert response.status_code == 201
    assert response.json()["name"] == "Focus \N{DIRECT HIT}"


async def test_a_token_whose_exp_is_no_time_is_unauthorized(client: httpx.AsyncClient) -> None:
    forged = jwt.encode(
        {"sub": "ops", "role": "admin", "exp": int("9" * 400)}, JWT_SECRET, algorithm="HS256"
    )
    response = await client.get("/v1/programs", headers={"Authorization": f"Bearer {forged}"})
    _problem(response, 401, "unauthorized")


# 3. Bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "Caf\xe9", "sessions_per_month": 2}',
        b"[" * 1000 + b"]" * 1000,
        b'{"name": "Deep", "sessions_per_month": ' + b"9" * 5000 + b"}",
        b'{"name": "Deep", "sessions_per_month": 2, "x": ' + b"[" * 40 + b"]" * 40 + b"}",
        b"{not json",
    ],
)
async def test_bodies_no_parser_should_see_are_validation_errors(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(
        "/v1/programs", content=body, headers={**auth(), "content-type": "application/json"}
    )
    _problem(response, 422, "validation_error")


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 65536):
        yield b" " * 65536


async def test_a_body_over_one_mebibyte_is_refused(client: httpx.AsyncClient) -> None:
    declared = await client.post(
        "/v1/programs",
        content=b" " * (1024 * 1024 + 1),
        headers={**auth(), "content-type": "application/json"},
    )
    _problem(declared, 413, "payload_too_large")
    streamed = await client.post(
        "/v1/programs",
        content=_chunks(2 * 1024 * 1024),
        headers={**auth(), "content-type": "application/json"},
    )
    _problem(streamed, 413, "payload_too_large")


async def test_the_token_is_checked_before_the_body_is_read(app: FastAPI) -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read before the token was checked")

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/programs",
        "raw_path": b"/v1/programs",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 401


async def test_a_method_a_route_does_not_take_is_405_with_allow(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete("/v1/programs", headers=auth())
    _problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_a_405_names_the_methods_of_the_literal_path_whatever_the_routing_order(
    client: httpx.AsyncClient,
) -> None:
    # GET /v1/sessions/{session_id} is tried before POST /v1/sessions/batch; "batch" is the
    # literal path, not a session id.
    response = await client.delete("/v1/sessions/batch", headers=auth())
    _problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    response = await client.delete(f"/v1/sessions/{uuid.uuid4()}", headers=auth())
    _problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"


async def test_a_path_two_routers_take_answers_both_methods_and_405_names_both(
    client: httpx.AsyncClient,
) -> None:
    # POST /v1/sessions is the sessions router's, GET /v1/sessions the views router's.
    assert (await client.get("/v1/sessions", headers=auth())).status_code == 200
    response = await client.delete("/v1/sessions", headers=auth())
    _problem(response, 405, "method_not_allowed")
    assert sorted(response.headers["allow"].split(", ")) == ["GET", "POST"]


# 5. Query parameters ------------------------------------------------------------------------


async def test_an_unknown_query_parameter_is_named(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/programs", params={"cursr": "x"}, headers=auth())
    body = _problem(response, 422, "validation_error")
    assert "'cursr'" in body["detail"]
    assert body["errors"][0]["loc"] == ["query", "cursr"]
    assert (await client.get("/healthz", params={"verbose": "1"})).status_code == 422


async def test_every_route_refuses_unknown_query_parameters(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # The check wraps each route's handler, so a router built without it would let typos pass.
    routes = [route for route in every_route(app.router.routes) if isinstance(route, APIRoute)]
    assert routes
    assert all(isinstance(route, QueryCheckedRoute) for route in routes)
    response = await client.get("/docs", params={"x": "1"})
    assert response.status_code == 422
    response = await client.get("/v1/programs", params={"limit": "1"}, headers=auth())
    assert response.status_code == 200


# 4. Metrics ----------------------------------------------------------------------------------


def _count(metrics: str, labels: str) -> float:
    prefix = f"session_api_requests_total{{{labels}}} "
    lines = [line for line in metrics.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


async def test_made_up_methods_and_replays_keep_metrics_bounded(
    client: httpx.AsyncClient,
) -> None:
    created = 'method="POST",route="/v1/programs",status="201"'
    before = _count((await client.get("/metrics")).text, created)
    for n in range(5):
        await client.request(f"FOO{n}", "/v1/programs")
    headers = {**auth(), "Idempotency-Key": "metered"}
    for _ in range(2):
        await client.post(
            "/v1/programs", json={"name": "M", "sessions_per_month": 1}, headers=headers
        )
    text = (await client.get("/metrics")).text
    assert 'method="FOO' not in text
    assert _count(text, 'method="OTHER",route="/v1/programs",status="405"') >= 5
    assert _count(text, created) - before == 2


# 6. Leaks and SSRF -------------------------------------------------------------------------


async def test_duplicate_authorization_headers_are_refused(client: httpx.AsyncClient) -> None:
    headers = [("Authorization", f"Bearer {token('admin')}")] * 2
    response = await client.get("/v1/programs", headers=headers)
    _problem(response, 401, "unauthorized")


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Europe/Nowhere"])
async def test_only_iana_zone_names_are_accepted(client: httpx.AsyncClient, zone: str) -> None:
    body = {"name": "Carla", "email": "carla@example.com", "timezone": zone}
    response = await client.post("/v1/coaches", json=body, headers=auth())
    _problem(response, 422, "validation_error")


@pytest.mark.parametrize(
    "url", ["https://user:pw@hooks.example.com/in", "https://hooks.example.com:0/in"]
)
async def test_webhook_urls_with_credentials_or_port_zero_are_refused(
    client: httpx.AsyncClient, url: str
) -> None:
    response = await client.post("/v1/webhooks", json={"url": url}, headers=auth())
    _problem(response, 422, "validation_error")


@pytest.fixture
async def public_only(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app that sends webhooks to public addresses only (the default)."""
    strict = create_app(
        settings.model_copy(update={"webhook_allow_private_targets": False}), clock=Clock()
    )
    async with strict.router.lifespan_context(strict):
        transport = httpx.ASGITransport(app=strict)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.mark.parametrize(
    "host", ["[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "[::ffff:10.0.0.1]"]
)
async def test_ipv6_addresses_embedding_private_ipv4_are_refused(
    public_only: httpx.AsyncClient, client: httpx.AsyncClient, host: str
) -> None:
    response = await public_only.post(
        "/v1/webhooks", json={"url": f"http://{host}/hook"}, headers=auth()
    )
    _problem(response, 422, "validation_error")


async def test_calendar_keys_never_reach_the_logs(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await client.get(
            "/v1/coaches/5d1e0c5e-54b6-4a5b-9b7f-0c3c5d1e0c5e/calendar.ics?key=s3cr3t-key&x=1"
        )
    # The server's lines; httpx's own line is the test client's, not the service's.
    served = [record for record in caplog.records if not record.name.startswith("httpx")]
    assert any(record.name == "session_api.requests" for record in served)
    assert not any("s3cr3t-key" in record.getMessage() for record in served)
    # Should a URL with a key reach any other line, the formatter masks it.
    assert redact("GET /calendar.ics?key=s3cr3t-key&x=1") == "GET /calendar.ics?key=<key>&x=1"


# 12.2 Typed problems -------------------------------------------------------------------------


async def test_no_month_with_room_is_its_own_code(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine, app: FastAPI
) -> None:
    context: Context = app.state.context
    now = context.now()
    program = await factory.program(
        sessions_per_month=1,
        starts_on=now.date().isoformat(),
        ends_on=(now + timedelta(days=1)).date().isoformat(),
    )
    coachee = await always_open_coachee(factory)
    await client.patch(
        f"/v1/coachees/{coachee['id']}", json={"program_id": program["id"]}, headers=auth()
    )
    starts = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    await booked(client, coachee, starts.astimezone(UTC).isoformat(), override_availability=True)
    full = await client.get(f"/v1/coachees/{coachee['id']}/default-slot", headers=auth())
    _problem(full, 404, "no_month_with_room")
    unknown = await client.get(f"/v1/coachees/{uuid.uuid4()}/default-slot", headers=auth())
    _problem(unknown, 404, "not_found")


async def test_problem_codes_are_an_enum_with_typed_facts(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    codes = set(components["Problem"]["properties"]["code"]["enum"])
    assert {"not_found", "payload_too_large", "no_month_with_room"} <= codes
    limit = components["MonthlyLimitReachedProblem"]
    assert limit["properties"]["next_available_month"]["anyOf"][0]["type"] == "string"
    assert limit["examples"][0]["code"] == "monthly_limit_reached"
    booking = schema["paths"]["/v1/sessions"]["post"]["responses"]
    assert {"409", "413", "422"} <= set(booking)
    conflict = booking["409"]["content"]["application/problem+json"]["schema"]
    assert conflict["discriminator"]["mapping"]["time_conflict"].endswith("TimeConflictProblem")
    assert datetime.now(UTC)  # the clock is real; nothing above depends on it


# Schema conformance (found by the fuzzing step) ---------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"sessions_per_month": "2"},
        {"sessions_per_month": True},
        {"late_cancel_hours": False},
        {"starts_on": 0},
    ],
)
async def test_numbers_and_dates_are_what_the_schema_says(
    client: httpx.AsyncClient, fields: dict[str, Any]
) -> None:
    body = {"name": "Typed", "sessions_per_month": 2, **fields}
    response = await client.post("/v1/programs", json=body, headers=auth())
    _problem(response, 422, "validation_error")


@pytest.mark.parametrize("instant", ["0.5", "1700000000"])
async def test_an_instant_is_never_a_number_of_seconds(
    client: httpx.AsyncClient, instant: str
) -> None:
    response = await client.get("/v1/sessions", params={"to": instant}, headers=auth())
    _problem(response, 422, "validation_error")
