"""End to end: API changes reach a real SMTP server and a real webhook receiver, at least once."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from session_api.config import Settings
from session_api.notify import signing
from session_api.notify.ics import uid_for
from session_api.services.context import Context
from session_api.services.relay import dispatch_events, relay_once
from tests.notify_support import (
    ReceivedMail,
    SmtpServer,
    WebhookReceiver,
    delivery_rows,
    running_receiver,
)
from tests.scheduling_support import booked, open_all_week
from tests.support import Clock, Factory, auth

STARTS_AT = "2026-12-03T16:00:00+01:00"  # 10:00 in New York, inside the coach's hours


@pytest.fixture
def ctx(app: FastAPI) -> Context:
    """The app's context: its engine and its (test) clock."""
    context: Context = app.state.context
    return context


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    """A real HTTP receiver on loopback."""
    async with running_receiver() as endpoint:
        yield endpoint


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: SmtpServer, tmp_path: Path) -> Settings:
    """The worker's settings, aimed at the test's SMTP server."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "smtp_starttls": False,
            "smtp_timeout_seconds": 5,
            "webhook_timeout_seconds": 5,
            "mail_from": "Coaching <sessions@coaching.example>",
            "mail_dir": tmp_path / "unused",
        }
    )


@pytest.fixture
async def maia(factory: Factory) -> dict[str, Any]:
    """Maia in Berlin (2 sessions a month) with Ana, a coach in New York available all week."""
    coach = await factory.coach(
        name="Ana Coach", email="ana@coaching.example", timezone="America/New_York"
    )
    await open_all_week(factory, coach["id"])
    coachee = await factory.coachee(
        coach=coach, name="Maia", email="maia@learner.example", timezone="Europe/Berlin"
    )
    coachee["coach"] = coach
    return coachee


async def _subscribe(client: httpx.AsyncClient, url: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/v1/webhooks", json={"url": url, **fields}, headers=auth())
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _invite_facts(mail: ReceivedMail) -> tuple[str, str, int, str]:
    calendar = mail.invite()
    (event,) = calendar.events
    return (
        str(calendar["METHOD"]),
        str(event["UID"]),
        event.sequence,
        str(event["STATUS"]),
    )


async def test_reschedule_and_cancel_reach_both_people_webhooks_and_the_feed(
    client: httpx.AsyncClient,
    maia: dict[str, Any],
    ctx: Context,
    clock: Clock,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
    receiver: WebhookReceiver,
) -> None:
    hook = await _subscribe(client, receiver.url)
    session = await booked(client, maia, STARTS_AT)
    uid = uid_for(uuid.UUID(session["id"]))

    first = await relay_once(ctx, smtp_settings)
    assert (first.dispatched, first.delivered, first.retrying, first.failed) == (1, 3, 0, 0)

    moved = await client.post(
        f"/v1/sessions/{session['id']}/reschedule",
        json={"starts_at": "2026-12-04T17:00:00+01:00", "message": "Train delayed"},
        headers=auth(),
    )
    assert moved.status_code == 200, moved.text
    assert (await relay_once(ctx, smtp_settings)).delivered == 3

    cancelled = await client.post(
        f"/v1/sessions/{session['id']}/cancel", json={"message": "Ill, sorry"}, headers=auth()
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (await relay_once(ctx, smtp_settings)).delivered == 3

    for address in ("maia@learner.example", "ana@coaching.example"):
        scheduled, rescheduled, cancel = smtp_server.to(address)
        assert _invite_facts(scheduled) == ("REQUEST", uid, 0, "CONFIRMED")
        assert _invite_facts(rescheduled) == ("REQUEST", uid, 1, "CONFIRMED")
        assert _invite_facts(cancel) == ("CANCEL", uid, 2, "CANCELLED")
        assert rescheduled.message["Subject"].startswith("Session moved with")
        assert "Train delayed" in rescheduled.text()
        assert "Ill, sorry" in cancel.text()
        assert cancel.message["From"] == "Coaching <sessions@coaching.example>"
    # Each person reads the times in their own zone.
    assert "Friday 4 December 2026, 17:00" in smtp_server.to("maia@learner.example")[1].text()
    assert "Friday 4 December 2026, 11:00" in smtp_server.to("ana@coaching.example")[1].text()
    assert "Was: Thursday 3 December 2026, 10:00 (America/New_York)" in (
        smtp_server.to("ana@coaching.example")[1].text()
    )

    feed = await client.get("/v1/events", headers=auth())
    items = feed.json()["items"]
    assert [item["type"] for item in items] == [
        "session.scheduled",
        "session.rescheduled",
        "session.cancelled",
    ]
    assert [request.path for request in receiver.requests] == ["/hooks/session-api"] * 3
    now = int(clock.instant.timestamp())
    for request, item in zip(receiver.requests, items, strict=True):
        assert signing.verify(hook["secret"], request.headers, request.body, now=now)
        assert request.headers["webhook-id"] == item["id"]
        assert json.loads(request.body) == item
    assert not signing.verify(hook["secret"], receiver.requests[0].headers, b"{}", now=now)
    assert all(row.state == "delivered" for row in await delivery_rows(ctx.engine))


async def test_a_late_relay_never_puts_a_cancelled_session_back_in_a_calendar(
    client: httpx.AsyncClient,
    maia: dict[str, Any],
    ctx: Context,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    session = await booked(client, maia, STARTS_AT)
    await client.post(
        f"/v1/sessions/{session['id']}/cancel", json={"message": "No longer"}, headers=auth()
    )

    await relay_once(ctx, smtp_settings)

    mails = smtp_server.to("maia@learner.example")
    assert [mail.message["Subject"].split(" with")[0] for mail in mails] == [
        "Session scheduled",
        "Session cancelled",
    ]
    # Both carry the session as it is now; the older mail says so.
    assert [_invite_facts(mail)[0] for mail in mails] == ["CANCEL", "CANCEL"]
    assert "has since been cancelled" in mails[0].text()


async def test_a_stopped_smtp_server_delays_mail_but_loses_none(
    client: httpx.AsyncClient,
    maia: dict[str, Any],
    ctx: Context,
    clock: Clock,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    smtp_server.stop()
    await booked(client, maia, STARTS_AT)

    down = await relay_once(ctx, smtp_settings)

    assert (down.delivered, down.retrying, down.failed) == (0, 2, 0)
    rows = await delivery_rows(ctx.engine)
    assert [(row.state, row.attempts) for row in rows] == [("pending", 1), ("pending", 1)]
    assert all("unavailable" in row.last_error for row in rows)
    first_retry = timedelta(seconds=smtp_settings.delivery_retry_first_seconds)
    for row in rows:
        assert clock.instant + first_retry / 2 <= row.next_attempt_at <= clock.instant + first_retry
    # Not due yet: a second pass at the same instant leaves them alone.
    assert (await relay_once(ctx, smtp_settings)).idle

    smtp_server.start()
    clock.instant += first_retry
    back = await relay_once(ctx, smtp_settings)

    assert (back.delivered, back.retrying, back.failed) == (2, 0, 0)
    assert len(smtp_server.received) == 2
    assert [(row.state, row.attempts) for row in await delivery_rows(ctx.engine)] == [
        ("delivered", 2),
        ("delivered", 2),
    ]


async def test_delivery_gives_up_after_the_attempt_limit_and_says_why(
    client: httpx.AsyncClient,
    maia: dict[str, Any],
    ctx: Context,
    clock: Clock,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    smtp_server.stop()
    limited = smtp_settings.model_copy(update={"delivery_max_attempts": 3})
    await booked(client, maia, STARTS_AT)

    reports = []
    for _ in range(3):
        reports.append(await relay_once(ctx, limited))
        clock.instant += timedelta(seconds=limited.delivery_retry_max_seconds)

    assert [(r.retrying, r.failed) for r in reports] == [(2, 0), (2, 0), (0, 2)]
    rows = await delivery_rows(ctx.engine)
    assert [(row.state, row.attempts) for row in rows] == [("failed", 3), ("failed", 3)]
    assert all(row.last_error.startswith("gave up after 3 attempts") for row in rows)
    assert (await relay_once(ctx, limited)).idle


async def test_delivery_gives_up_after_a_bounded_time(
    client: httpx.AsyncClient,
    maia: dict[str, Any],
    ctx: Context,
    clock: Clock,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    smtp_server.stop()
    hour = smtp_settings.model_copy(
        update={"delivery_give_up_after_seconds": 3600, "delivery_retry_first_seconds": 3000}
    )
    await booked(client, maia, STARTS_AT)

    await relay_once(ctx, hour)
    clock.instant += timedelta(hours=1)
    last_try = await relay_once(ctx, hour)

    # The deadline has come: this was the last try.
    assert (last_try.retrying, last_try.failed) == (0, 2)
    rows = await delivery_rows(ctx.engine)
    assert all(row.last_error.startswith("gave up after 1:00:00") for row in rows)


async def test_a_relay_that_dies_mid_delivery_sends_again_after_its_lease(
    client: httpx.AsyncClient,
    maia: dict[str, Any],
    ctx: Context,
    clock: Clock,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    await booked(client, maia, STARTS_AT)
    assert await dispatch_events(ctx, smtp_settings, clock.instant) == 1
    # A relay leases both deliveries and dies before sending (or before recording the result).
    lease = timedelta(seconds=smtp_settings.delivery_lease_seconds)
    async with ctx.writing() as uow:
        claimed = await uow.outbox.claim_due(
            now=clock.instant, limit=10, lease_until=clock.instant + lease
        )
        await uow.commit()
    assert len(claimed) == 2

    assert (await relay_once(ctx, smtp_settings)).idle
    clock.instant += lease
    assert (await relay_once(ctx, smtp_settings)).delivered == 2

    assert len(smtp_server.received) == 2
    rows = await delivery_rows(ctx.engine)
    assert [(row.state, row.attempts) for row in rows] == [("delivered", 2), ("delivered", 2)]


async def test_a_410_answer_disables_the_subscription(
    client: httpx.AsyncClient,
    maia: dict[str, Any],
    ctx: Context,
    smtp_settings: Settings,
    receiver: WebhookReceiver,
) -> None:
    hook = await _subscribe(client, receiver.url)
    receiver.status = 410
    await booked(client, maia, STARTS_AT)

    report = await relay_once(ctx, smtp_settings)

    assert (report.delivered, report.failed) == (2, 1)
    stored = await client.get(f"/v1/webhooks/{hook['id']}", headers=auth())
    assert stored.json()["active"] is False
    assert "410 Gone" in stored.json()["disabled_reason"]
    (webhook,) = [row for row in await delivery_rows(ctx.engine) if row.channel == "webhook"]
    assert (webhook.state, webhook.attempts) == ("failed", 1)
    assert "410" in webhook.last_error

    # A disabled subscription gets nothing new, until an admin turns it back on.
    await booked(client, maia, "2026-12-10T16:00:00+01:00")
    assert (await relay_once(ctx, smtp_settings)).delivered == 2
    assert len(receiver.requests) == 1
    enabled = await client.patch(
        f"/v1/webhooks/{hook['id']}", json={"active": True}, headers=auth()
    )
    assert (enabled.json()["active"], enabled.json()["disabled_reason"]) == (True, None)


async def test_a_worker_that_allows_no_private_targets_sends_them_nothing(
    client: httpx.AsyncClient,
    maia: dict[str, Any],
    ctx: Context,
    smtp_settings: Settings,
    receiver: WebhookReceiver,
) -> None:
    await _subscribe(client, receiver.url)
    await booked(client, maia, STARTS_AT)
    strict = smtp_settings.model_copy(update={"webhook_allow_private_targets": False})

    report = await relay_once(ctx, strict)

    assert (report.delivered, report.failed) == (2, 1)
    assert receiver.requests == []
    (webhook,) = [row for row in await delivery_rows(ctx.engine) if row.channel == "webhook"]
    assert webhook.state == "failed"
    assert "not a public address" in webhook.last_error


async def test_a_failing_receiver_gets_the_same_webhook_id_on_retry(
    client: httpx.AsyncClient,
    maia: dict[str, Any],
    ctx: Context,
    clock: Clock,
    smtp_settings: Settings,
    receiver: WebhookReceiver,
) -> None:
    hook = await _subscribe(client, receiver.url, event_types=["session.scheduled"])
    receiver.status = 503
    await booked(client, maia, STARTS_AT)

    failing = await relay_once(ctx, smtp_settings)
    receiver.status = 200
    clock.instant += timedelta(seconds=smtp_settings.delivery_retry_first_seconds)
    recovered = await relay_once(ctx, smtp_settings)

    assert (failing.retrying, recovered.delivered) == (1, 1)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    # Each attempt is signed when it is sent.
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert signing.verify(
        hook["secret"], second.headers, second.body, now=int(clock.instant.timestamp())
    )
    (webhook,) = [row for row in await delivery_rows(ctx.engine) if row.channel == "webhook"]
    assert (webhook.state, webhook.attempts, webhook.last_error) == ("delivered", 2, None)


async def test_without_an_smtp_host_each_message_is_an_eml_file(
    client: httpx.AsyncClient,
    maia: dict[str, Any],
    ctx: Context,
    settings: Settings,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "outbox-mail"
    eml_settings = settings.model_copy(update={"smtp_host": None, "mail_dir": folder})
    session = await booked(client, maia, STARTS_AT)

    assert (await relay_once(ctx, eml_settings)).delivered == 2

    (event,) = (await client.get("/v1/events", headers=auth())).json()["items"]
    files = sorted(folder.glob("*.eml"))
    assert [path.name for path in files] == [
        f"{event['id']}-coach.eml",
        f"{event['id']}-coachee.eml",
    ]
    mail = message_from_bytes(files[1].read_bytes(), policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["To"] == "Maia <maia@learner.example>"
    assert mail["Message-ID"] == f"<{event['id']}.coachee@localhost>"
    received = ReceivedMail(["maia@learner.example"], mail)
    assert _invite_facts(received)[:2] == ("REQUEST", uid_for(uuid.UUID(session["id"])))
    assert not list(folder.glob(".*"))


async def test_backfilled_sessions_and_month_events_send_no_mail(
    client: httpx.AsyncClient,
    maia: dict[str, Any],
    ctx: Context,
    clock: Clock,
    smtp_settings: Settings,
    smtp_server: SmtpServer,
    receiver: WebhookReceiver,
) -> None:
    await _subscribe(client, receiver.url)
    await booked(client, maia, "2026-11-02T16:00:00+01:00", status="completed")
    await booked(client, maia, "2026-12-03T16:00:00+01:00")
    await booked(client, maia, "2026-12-10T16:00:00+01:00")

    report = await relay_once(ctx, smtp_settings)

    types = [json.loads(request.body)["type"] for request in receiver.requests]
    assert types == [
        "session.completed",
        "session.scheduled",
        "session.scheduled",
        "coachee.month_full",
    ]
    assert (report.dispatched, report.delivered) == (4, 4 + 4)
    assert [mail.message["Subject"].split(" with")[0] for mail in smtp_server.received] == [
        "Session scheduled"
    ] * 4
