"""The event feed and webhook subscriptions through HTTP: order, cursors, access, validation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.config import Settings
from session_api.db.engine import SQLITE_BEGIN
from session_api.db.models import deliveries, events
from session_api.services.context import Context
from session_api.services.relay import dispatch_events, relay_once
from tests.scheduling_support import booked, open_all_week
from tests.support import Factory, as_coach, as_coachee, auth, statement_sent

HOOK_URL = "https://hooks.example.com/session-api"


@pytest.fixture
def ctx(app: FastAPI) -> Context:
    """The app's context."""
    context: Context = app.state.context
    return context


@pytest.fixture
def relay_settings(settings: Settings, tmp_path: Any) -> Settings:
    """The worker writing `.eml` files into the test's folder."""
    return settings.model_copy(update={"smtp_host": None, "mail_dir": tmp_path})


async def _insert_event(engine: AsyncEngine, **fields: Any) -> None:
    values = {
        "event_id": uuid.uuid4(),
        "type": "coachee.month_full",
        "session_id": None,
        "coachee_id": uuid.uuid4(),
        "occurred_at": datetime(2026, 11, 20, 12, tzinfo=UTC),
        "data": {"month": "2026-12", "month_title": "December 2026", "limit": 2, "used": 2},
        **fields,
    }
    async with engine.begin() as connection:
        await connection.execute(insert(events).values(**values))


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def _feed(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/events", params=params, headers=auth())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_feed_pages_in_order_and_its_cursor_is_never_null(
    client: httpx.AsyncClient,
    factory: Factory,
    ctx: Context,
    relay_settings: Settings,
) -> None:
    empty = await _feed(client)
    assert empty["items"] == []
    assert empty["next_cursor"]
    assert (await _feed(client, cursor=empty["next_cursor"]))["items"] == []

    coach = await factory.coach()
    await open_all_week(factory, coach["id"])
    coachee = await factory.coachee(
        coach=coach, program=await factory.program(sessions_per_month=9)
    )
    starts = [f"2026-12-0{day}T10:00:00+01:00" for day in range(1, 6)]
    for starts_at in starts:
        await booked(client, coachee, starts_at)
    # Not in the feed until the worker has published them.
    assert (await _feed(client))["items"] == []
    await relay_once(ctx, relay_settings)

    first = await _feed(client, limit=2)
    second = await _feed(client, limit=2, cursor=first["next_cursor"])
    third = await _feed(client, limit=2, cursor=second["next_cursor"])
    last = await _feed(client, limit=2, cursor=third["next_cursor"])

    items = first["items"] + second["items"] + third["items"]
    assert [_instant(item["data"]["starts_at"]) for item in items] == [_instant(s) for s in starts]
    assert {item["type"] for item in items} == {"session.scheduled"}
    assert set(items[0]) == {"id", "type", "session_id", "coachee_id", "occurred_at", "data"}
    assert (len(third["items"]), last["items"]) == (1, [])
    # The last page hands back the position of the last event, so polling goes on from there.
    assert last["next_cursor"] == third["next_cursor"]

    await booked(client, coachee, "2026-12-08T10:00:00+01:00")
    await relay_once(ctx, relay_settings)
    newer = await _feed(client, cursor=last["next_cursor"])
    assert [_instant(item["data"]["starts_at"]) for item in newer["items"]] == [
        datetime(2026, 12, 8, 9, tzinfo=UTC)
    ]


async def test_an_event_that_commits_late_is_not_skipped_by_a_poller(
    client: httpx.AsyncClient, engine: AsyncEngine, ctx: Context, relay_settings: Settings
) -> None:
    # Ids are taken when a row is inserted, but rows become visible when they commit: a
    # smaller id can appear after a larger one was already read.
    base = 10**9
    await _insert_event(engine, id=base + 2, data={"n": 2})
    await relay_once(ctx, relay_settings)
    seen = await _feed(client)
    await _insert_event(engine, id=base + 1, data={"n": 1})
    await relay_once(ctx, relay_settings)

    later = await _feed(client, cursor=seen["next_cursor"])

    assert [item["data"]["n"] for item in seen["items"]] == [2]
    assert [item["data"]["n"] for item in later["items"]] == [1]


async def test_concurrent_transactions_reach_the_feed_in_commit_order(
    client: httpx.AsyncClient, engine: AsyncEngine, ctx: Context, relay_settings: Settings
) -> None:
    slow = await engine.connect()
    try:
        if engine.dialect.name == "sqlite":
            slow = await slow.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        transaction = await slow.begin()
        await slow.execute(insert(events).values(**_month_event(n=1)))
        with statement_sent(engine, "INSERT INTO events") as second_sent:
            second = asyncio.ensure_future(_insert_event(engine, **_month_event(n=2)))
            await asyncio.wait_for(second_sent.wait(), timeout=30)
        if engine.dialect.name == "sqlite":
            # One writer at a time: the second insert, sent while the first transaction is
            # open, waits for its commit, so ids follow commit order.
            await transaction.commit()
            await second
            expected_first, expected_later = [1, 2], []
        else:
            await second
            await relay_once(ctx, relay_settings)
            seen_before_commit = await _feed(client)
            assert [item["data"]["n"] for item in seen_before_commit["items"]] == [2]
            await transaction.commit()
            expected_first, expected_later = [2], [1]
    finally:
        await slow.close()
    await relay_once(ctx, relay_settings)
    if engine.dialect.name == "sqlite":
        seen = await _feed(client)
        later = await _feed(client, cursor=seen["next_cursor"])
    else:
        seen = seen_before_commit
        later = await _feed(client, cursor=seen["next_cursor"])

    assert [item["data"]["n"] for item in seen["items"]] == expected_first
    assert [item["data"]["n"] for item in later["items"]] == expected_later


def _month_event(*, n: int) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "type": "coachee.month_available",
        "session_id": None,
        "coachee_id": uuid.uuid4(),
        "occurred_at": datetime(2026, 11, 20, 12, tzinfo=UTC),
        "data": {"n": n},
    }


async def test_several_relays_at_once_fan_each_event_out_exactly_once(
    client: httpx.AsyncClient, engine: AsyncEngine, ctx: Context, relay_settings: Settings
) -> None:
    for _ in range(2):
        response = await client.post("/v1/webhooks", json={"url": HOOK_URL}, headers=auth())
        assert response.status_code == 201
    async with engine.begin() as connection:
        await connection.execute(insert(events), [_month_event(n=n) for n in range(120)])
    # Small batches, so the relays take turns many times.
    small_batches = relay_settings.model_copy(update={"worker_batch_size": 7})

    counts = await asyncio.gather(
        *(dispatch_events(ctx, small_batches, ctx.now()) for _ in range(4))
    )

    assert sum(counts) == 120
    async with engine.connect() as connection:
        positions = (await connection.execute(select(events.c.feed_position))).scalars().all()
        fanned = (await connection.execute(select(deliveries.c.event_id))).scalars().all()
    assert sorted(positions) == list(range(1, 121))
    assert len(fanned) == 240
    assert len(set(fanned)) == 120


async def test_only_admins_read_the_feed(client: httpx.AsyncClient, factory: Factory) -> None:
    coachee = await factory.coachee()
    coach = {"id": coachee["coach_id"]}
    assert (await client.get("/v1/events", headers=as_coach(coach))).status_code == 403
    assert (await client.get("/v1/events", headers=as_coachee(coachee))).status_code == 403
    assert (await client.get("/v1/events")).status_code == 401


@pytest.mark.parametrize(
    "params",
    [{"cursor": "not-a-cursor"}, {"cursor": "eyJpZCI6IngifQ"}, {"limit": 0}, {"limit": 201}],
)
async def test_a_bad_cursor_or_limit_is_refused(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    response = await client.get("/v1/events", params=params, headers=auth())
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_webhook_subscriptions_are_managed_by_admins(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/v1/webhooks",
        json={"url": HOOK_URL, "event_types": ["session.cancelled", "session.scheduled"]},
        headers=auth(),
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_")
    assert (hook["url"], hook["active"], hook["disabled_reason"]) == (HOOK_URL, True, None)
    assert hook["event_types"] == ["session.cancelled", "session.scheduled"]

    read = await client.get(f"/v1/webhooks/{hook['id']}", headers=auth())
    assert read.status_code == 200
    assert "secret" not in read.json()
    listed = await client.get("/v1/webhooks", headers=auth())
    assert [item["id"] for item in listed.json()["items"]] == [hook["id"]]
    assert listed.json()["next_cursor"] is None

    changed = await client.patch(
        f"/v1/webhooks/{hook['id']}", json={"event_types": None}, headers=auth()
    )
    assert changed.status_code == 200
    assert (changed.json()["event_types"], changed.json()["url"]) == (None, HOOK_URL)
    paused = await client.patch(
        f"/v1/webhooks/{hook['id']}", json={"active": False}, headers=auth()
    )
    assert paused.json()["disabled_reason"] == "disabled by admin:ops"

    deleted = await client.delete(f"/v1/webhooks/{hook['id']}", headers=auth())
    assert (deleted.status_code, deleted.content) == (204, b"")
    gone = await client.get(f"/v1/webhooks/{hook['id']}", headers=auth())
    assert gone.status_code == 404
    again = await client.delete(f"/v1/webhooks/{hook['id']}", headers=auth())
    assert again.status_code == 404


async def test_webhooks_refuse_other_roles_and_bad_bodies(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coachee = await factory.coachee()
    coach = {"id": coachee["coach_id"]}
    for headers in (as_coach(coach), as_coachee(coachee)):
        response = await client.post("/v1/webhooks", json={"url": HOOK_URL}, headers=headers)
        assert response.status_code == 403
        assert (await client.get("/v1/webhooks", headers=headers)).status_code == 403
        unknown = await client.get(f"/v1/webhooks/{uuid.uuid4()}", headers=headers)
        assert unknown.status_code == 403
    for body in (
        {"url": "ftp://hooks.example.com/x"},
        {"url": "not a url"},
        {"url": HOOK_URL, "event_types": ["session.exploded"]},
        {"url": HOOK_URL, "event_types": []},
        {"url": HOOK_URL, "secret": "whsec_mine"},
    ):
        response = await client.post("/v1/webhooks", json=body, headers=auth())
        assert response.status_code == 422, body
    assert (await client.get("/v1/webhooks/not-an-id", headers=auth())).status_code == 404
    missing = await client.patch(f"/v1/webhooks/{uuid.uuid4()}", json={}, headers=auth())
    assert missing.status_code == 404
    nulled = await client.post("/v1/webhooks", json={"url": HOOK_URL}, headers=auth())
    refused = await client.patch(
        f"/v1/webhooks/{nulled.json()['id']}", json={"url": None}, headers=auth()
    )
    assert refused.status_code == 422


async def test_deleting_a_subscription_gives_up_what_it_had_not_received(
    client: httpx.AsyncClient,
    factory: Factory,
    engine: AsyncEngine,
    ctx: Context,
    relay_settings: Settings,
) -> None:
    hook = (await client.post("/v1/webhooks", json={"url": HOOK_URL}, headers=auth())).json()
    await _insert_event(engine)
    await dispatch_events(ctx, relay_settings, ctx.now())
    await client.delete(f"/v1/webhooks/{hook['id']}", headers=auth())

    async with engine.connect() as connection:
        row = (await connection.execute(select(deliveries))).one()
    assert (row.state, row.last_error) == ("failed", "the webhook subscription was deleted")
    assert (await relay_once(ctx, relay_settings)).idle


async def test_webhooks_to_private_addresses_are_refused_unless_allowed(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    body = {"url": "http://169.254.169.254/latest/meta-data"}
    allowed = await client.post("/v1/webhooks", json=body, headers=auth())
    assert allowed.status_code == 201
    app.state.settings = settings.model_copy(update={"webhook_allow_private_targets": False})
    try:
        refused = await client.post("/v1/webhooks", json=body, headers=auth())
        moved = await client.patch(
            f"/v1/webhooks/{allowed.json()['id']}",
            json={"url": "http://localhost:9/hook"},
            headers=auth(),
        )
    finally:
        app.state.settings = settings
    assert refused.status_code == 422
    assert "public addresses only" in refused.json()["detail"]
    assert moved.status_code == 422
