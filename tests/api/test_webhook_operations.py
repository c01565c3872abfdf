"""Operating webhooks through HTTP: who receives what, the delivery log, test messages, rotation."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.config import Settings
from session_api.notify import signing
from session_api.services.context import Context
from session_api.services.relay import relay_once
from tests.notify_support import LOOPBACK, WebhookReceiver, WebhookRequest, running_receiver
from tests.scheduling_support import always_open_coachee, booked
from tests.support import Clock, Factory, as_coach, auth


@pytest.fixture
def ctx(app: FastAPI) -> Context:
    """The app's context: its engine and its (test) clock."""
    context: Context = app.state.context
    return context


@pytest.fixture
def relay_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The worker: e-mail as `.eml` files in the test's folder, webhooks to loopback."""
    return settings.model_copy(
        update={"smtp_host": None, "mail_dir": tmp_path, "webhook_timeout_seconds": 5}
    )


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    """A real HTTP receiver on loopback."""
    async with running_receiver() as endpoint:
        yield endpoint


@pytest.fixture
async def coachee(factory: Factory, engine: AsyncEngine) -> dict[str, Any]:
    """A coachee with room for many sessions a month (no month events get in the way)."""
    return await always_open_coachee(factory, sessions_per_month=9)


def _december(day: int) -> str:
    return f"2026-12-{day:02d}T10:00:00+00:00"


async def _subscribe(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.post("/v1/webhooks", json={"url": url}, headers=auth())
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _event_ids(requests: list[WebhookRequest]) -> list[str]:
    return [json.loads(request.body)["id"] for request in requests]


def _verifies(secret: str, request: WebhookRequest) -> bool:
    """Whether the request carries a valid signature under the secret (at its own timestamp)."""
    now = int(request.headers["webhook-timestamp"])
    return signing.verify(secret, request.headers, request.body, now=now)


async def _feed_ids(client: httpx.AsyncClient) -> list[str]:
    feed = await _ok(await client.get("/v1/events", headers=auth()))
    return [item["id"] for item in feed["items"]]


async def test_a_new_subscription_receives_only_events_that_occur_after_it_was_created(
    client: httpx.AsyncClient,
    coachee: dict[str, Any],
    ctx: Context,
    clock: Clock,
    relay_settings: Settings,
    receiver: WebhookReceiver,
) -> None:
    async with running_receiver() as early_receiver:
        early = await _subscribe(client, early_receiver.url)
        await booked(client, coachee, _december(1))
        clock.instant += timedelta(minutes=1)
        # Subscribed while the first event still waits for the worker.
        late = await _subscribe(client, receiver.url)
        await booked(client, coachee, _december(2))

        report = await relay_once(ctx, relay_settings)

        before, after = await _feed_ids(client)
        assert _event_ids(early_receiver.requests) == [before, after]
    assert _event_ids(receiver.requests) == [after]
    assert report.delivered == 2 * 2 + 3
    log = await _ok(await client.get(f"/v1/webhooks/{late['id']}/deliveries", headers=auth()))
    assert [item["event_id"] for item in log["items"]] == [after]
    early_log = await client.get(f"/v1/webhooks/{early['id']}/deliveries", headers=auth())
    assert [item["event_id"] for item in (await _ok(early_log))["items"]] == [after, before]


async def test_the_delivery_log_pages_newest_first_with_status_attempts_and_last_error(
    client: httpx.AsyncClient,
    coachee: dict[str, Any],
    ctx: Context,
    clock: Clock,
    relay_settings: Settings,
    receiver: WebhookReceiver,
) -> None:
    hook = await _subscribe(client, receiver.url)
    quiet = await _subscribe(client, "https://hooks.example.com/other")
    await client.patch(f"/v1/webhooks/{quiet['id']}", json={"active": False}, headers=auth())
    started = clock.instant
    receiver.status = 503
    await booked(client, coachee, _december(1))
    await relay_once(ctx, relay_settings)
    receiver.status = 204
    clock.instant += timedelta(seconds=relay_settings.delivery_retry_first_seconds)
    retried = clock.instant
    await booked(client, coachee, _december(2))
    await relay_once(ctx, relay_settings)
    receiver.status = 500
    clock.instant += timedelta(minutes=1)
    await booked(client, coachee, _december(3))
    await relay_once(ctx, relay_settings)
    first, second, third = await _feed_ids(client)
    url = f"/v1/webhooks/{hook['id']}/deliveries"

    page = await _ok(await client.get(url, params={"limit": 2}, headers=auth()))
    rest = await _ok(
        await client.get(url, params={"limit": 2, "cursor": page["next_cursor"]}, headers=auth())
    )

    newest, middle = page["items"]
    (oldest,) = rest["items"]
    assert rest["next_cursor"] is None
    assert [item["event_id"] for item in (newest, middle, oldest)] == [third, second, first]
    assert {item["event_type"] for item in (newest, middle, oldest)} == {"session.scheduled"}
    assert (newest["status"], newest["attempts"]) == ("pending", 1)
    assert newest["last_error"].endswith("answered HTTP 500")
    assert newest["next_attempt_at"] is not None
    assert newest["delivered_at"] is None
    assert (middle["status"], middle["attempts"], middle["last_error"]) == ("delivered", 1, None)
    assert (oldest["status"], oldest["attempts"], oldest["last_error"]) == ("delivered", 2, None)
    assert _instants(oldest, "created_at", "last_attempt_at", "delivered_at") == [
        started,
        retried,
        retried,
    ]
    assert oldest["next_attempt_at"] is None
    pending = await _ok(await client.get(url, params={"status": "pending"}, headers=auth()))
    assert [item["event_id"] for item in pending["items"]] == [third]
    failed = await _ok(await client.get(url, params={"status": "failed"}, headers=auth()))
    assert failed == {"items": [], "next_cursor": None}
    # The inactive subscription was never fanned out to.
    other = f"/v1/webhooks/{quiet['id']}/deliveries"
    assert (await _ok(await client.get(other, headers=auth())))["items"] == []


def _instants(item: dict[str, Any], *names: str) -> list[datetime]:
    return [datetime.fromisoformat(item[name]) for name in names]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJpZCI6IngifQ"},
        {"status": "lost"},
    ],
)
async def test_the_delivery_log_refuses_bad_paging_and_filters(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    hook = await _subscribe(client, "https://hooks.example.com/session-api")
    response = await client.get(
        f"/v1/webhooks/{hook['id']}/deliveries", params=params, headers=auth()
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


async def test_the_new_operations_are_for_admins_and_known_subscriptions(
    client: httpx.AsyncClient, coachee: dict[str, Any]
) -> None:
    hook = await _subscribe(client, "https://hooks.example.com/session-api")
    coach = as_coach(coachee["coach"])
    operations = [
        ("GET", "deliveries"),
        ("POST", "test"),
        ("POST", "rotate-secret"),
    ]
    for method, action in operations:
        forbidden = await client.request(
            method, f"/v1/webhooks/{hook['id']}/{action}", headers=coach
        )
        assert forbidden.status_code == 403, action
        for missing_id in ("00000000-0000-4000-8000-000000000000", "not-an-id"):
            missing = await client.request(
                method, f"/v1/webhooks/{missing_id}/{action}", headers=auth()
            )
            assert (missing.status_code, missing.json()["code"]) == (404, "not_found"), action
        assert (
            await client.request(method, f"/v1/webhooks/{hook['id']}/{action}")
        ).status_code == 401


async def test_a_test_message_is_signed_and_answers_with_its_outcome(
    client: httpx.AsyncClient, clock: Clock, receiver: WebhookReceiver
) -> None:
    hook = await _subscribe(client, receiver.url)
    url = f"/v1/webhooks/{hook['id']}/test"

    delivered = await _ok(await client.post(url, headers=auth()))
    receiver.status = 500
    refused = await _ok(await client.post(url, headers=auth()))

    assert (delivered["delivered"], delivered["status_code"], delivered["error"]) == (
        True,
        204,
        None,
    )
    assert (refused["delivered"], refused["status_code"]) == (False, 500)
    assert "answered HTTP 500" in refused["error"]
    ping, _ = receiver.requests
    assert _verifies(hook["secret"], ping)
    assert int(ping.headers["webhook-timestamp"]) == int(clock.instant.timestamp())
    assert ping.headers["webhook-id"] == delivered["id"]
    body = json.loads(ping.body)
    assert body == {
        "id": delivered["id"],
        "type": "webhook.test",
        "session_id": None,
        "coachee_id": None,
        "occurred_at": body["occurred_at"],
        "data": {"webhook_id": hook["id"]},
    }
    # Sent directly: nothing waits in the outbox, the delivery log or the feed.
    log = await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth())
    assert (await _ok(log))["items"] == []
    assert await _feed_ids(client) == []


async def test_a_test_message_to_a_receiver_that_is_down_is_an_outcome_not_an_error(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    async with running_receiver() as stopped:
        hook = await _subscribe(client, stopped.url)
    async with _silent_server() as silent_url:
        slow = await _subscribe(client, silent_url)
        app.state.settings = settings.model_copy(update={"webhook_timeout_seconds": 0.5})
        try:
            unanswered = await client.post(f"/v1/webhooks/{slow['id']}/test", headers=auth())
        finally:
            app.state.settings = settings

    down = await _ok(await client.post(f"/v1/webhooks/{hook['id']}/test", headers=auth()))

    assert (down["delivered"], down["status_code"]) == (False, None)
    assert "unreachable" in down["error"]
    timed_out = await _ok(unanswered)
    assert (timed_out["delivered"], timed_out["status_code"]) == (False, None)
    assert timed_out["error"]


async def test_a_test_message_obeys_the_address_rules(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, receiver: WebhookReceiver
) -> None:
    hook = await _subscribe(client, receiver.url)
    app.state.settings = settings.model_copy(update={"webhook_allow_private_targets": False})
    try:
        outcome = await _ok(await client.post(f"/v1/webhooks/{hook['id']}/test", headers=auth()))
    finally:
        app.state.settings = settings

    assert (outcome["delivered"], outcome["status_code"]) == (False, None)
    assert outcome["error"]
    assert receiver.requests == []


async def test_a_rotated_secret_signs_next_to_the_old_one_until_the_grace_period_ends(
    client: httpx.AsyncClient,
    coachee: dict[str, Any],
    ctx: Context,
    clock: Clock,
    relay_settings: Settings,
    receiver: WebhookReceiver,
) -> None:
    hook = await _subscribe(client, receiver.url)
    old = hook["secret"]
    rotate = f"/v1/webhooks/{hook['id']}/rotate-secret"

    rotated = await _ok(await client.post(rotate, headers=auth()))
    await booked(client, coachee, _december(1))
    await relay_once(ctx, relay_settings)
    await _ok(await client.post(f"/v1/webhooks/{hook['id']}/test", headers=auth()))
    clock.instant += timedelta(seconds=relay_settings.webhook_secret_grace_seconds)
    await booked(client, coachee, _december(2))
    await relay_once(ctx, relay_settings)

    new = rotated["secret"]
    assert new.startswith("whsec_")
    assert new != old
    grace = timedelta(hours=24)
    assert _instants(rotated, "previous_secret_expires_at", "updated_at") == [
        clock.instant,
        clock.instant - grace,
    ]
    read = await _ok(await client.get(f"/v1/webhooks/{hook['id']}", headers=auth()))
    assert "secret" not in read
    assert read["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]
    during_event, during_ping, after = receiver.requests
    for request in (during_event, during_ping):
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        assert _verifies(old, request)
        assert _verifies(new, request)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert _verifies(new, after)
    assert not _verifies(old, after)


async def test_rotating_again_or_with_no_grace_retires_the_older_secret_at_once(
    client: httpx.AsyncClient, clock: Clock, receiver: WebhookReceiver
) -> None:
    hook = await _subscribe(client, receiver.url)
    rotate = f"/v1/webhooks/{hook['id']}/rotate-secret"
    test = f"/v1/webhooks/{hook['id']}/test"

    second = await _ok(await client.post(rotate, headers=auth()))
    third = await _ok(await client.post(rotate, json={"grace_seconds": 3600}, headers=auth()))
    await _ok(await client.post(test, headers=auth()))
    fourth = await _ok(await client.post(rotate, json={"grace_seconds": 0}, headers=auth()))
    await _ok(await client.post(test, headers=auth()))

    assert _instants(third, "previous_secret_expires_at") == [clock.instant + timedelta(hours=1)]
    assert fourth["previous_secret_expires_at"] is None
    both, only_newest = receiver.requests
    assert [_verifies(s["secret"], both) for s in (hook, second, third)] == [False, True, True]
    assert [_verifies(s["secret"], only_newest) for s in (third, fourth)] == [False, True]


@pytest.mark.parametrize(
    "body", [{"grace_seconds": -1}, {"grace_seconds": 31 * 86_400}, {"grace": 60}]
)
async def test_a_rotation_refuses_a_bad_grace_period(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    hook = await _subscribe(client, "https://hooks.example.com/session-api")
    response = await client.post(
        f"/v1/webhooks/{hook['id']}/rotate-secret", json=body, headers=auth()
    )
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    read = await _ok(await client.get(f"/v1/webhooks/{hook['id']}", headers=auth()))
    assert read["updated_at"] == hook["updated_at"]


@contextlib.asynccontextmanager
async def _silent_server() -> AsyncIterator[str]:
    """A loopback URL that accepts connections and never answers."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, LOOPBACK, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://{LOOPBACK}:{port}/hooks"
    finally:
        server.close()
        await server.wait_closed()
