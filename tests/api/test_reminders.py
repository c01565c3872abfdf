"""Reminders before sessions (SPEC §1.8): through HTTP and the worker, once per person."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.config import Settings
from session_api.db.engine import build_engine
from session_api.db.models import events
from session_api.services.context import Context
from session_api.services.relay import relay_once
from session_api.services.reminders import ReminderReport, claim_reminders
from tests.notify_support import ReceivedMail
from tests.scheduling_support import booked, open_all_week
from tests.support import JWT_SECRET, Clock, Factory, auth

REMINDER = "session.reminder_due"


@pytest.fixture
def ctx(app: FastAPI) -> Context:
    """The app's context: its engine and its (test) clock, which the worker shares."""
    context: Context = app.state.context
    return context


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    """Where the worker writes each e-mail as an `.eml` file."""
    return tmp_path / "mail"


@pytest.fixture
def relay_settings(settings: Settings, mail_dir: Path) -> Settings:
    """The worker writing `.eml` files into the test's folder."""
    return settings.model_copy(update={"smtp_host": None, "mail_dir": mail_dir})


async def _pair(
    factory: Factory, engine: AsyncEngine, reminder_hours: list[int], *, n: int = 0
) -> dict[str, Any]:
    """Maia in Berlin with Ana, a coach in New York who is available at any hour."""
    program = await factory.program(reminder_hours=reminder_hours)
    coach = await factory.coach(
        name="Ana Coach", email=f"ana{n}@coaching.example", timezone="America/New_York"
    )
    await open_all_week(factory, coach["id"], start="00:00", end="24:00")
    coachee = await factory.coachee(
        program=program,
        coach=coach,
        name="Maia",
        email=f"maia{n}@learner.example",
        timezone="Europe/Berlin",
    )
    return {**coachee, "coach": coach}


def _mails(folder: Path) -> list[ReceivedMail]:
    """Every e-mail the worker wrote, with its recipient."""
    mails = []
    for path in sorted(folder.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        mails.append(ReceivedMail([str(message["To"].addresses[0].addr_spec)], message))
    return mails


def _reminders_to(folder: Path, address: str) -> list[ReceivedMail]:
    return [
        mail
        for mail in _mails(folder)
        if mail.recipients == [address] and mail.message["Subject"].startswith("Reminder:")
    ]


async def _feed_reminders(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", params={"limit": 200}, headers=auth())
    assert response.status_code == 200, response.text
    return [item for item in response.json()["items"] if item["type"] == REMINDER]


def _at(clock: Clock, **delta: float) -> str:
    return (clock.instant + timedelta(**delta)).isoformat()


async def test_a_session_50_minutes_ahead_gets_one_reminder_per_person_however_many_passes(
    client: httpx.AsyncClient,
    factory: Factory,
    engine: AsyncEngine,
    ctx: Context,
    clock: Clock,
    relay_settings: Settings,
    mail_dir: Path,
) -> None:
    maia = await _pair(factory, engine, [1])
    session = await booked(client, maia, _at(clock, minutes=50))

    reports = []
    for minutes in (0, 0, 5, 20, 45):
        clock.instant = Clock().instant + timedelta(minutes=minutes)
        reports.append(await relay_once(ctx, relay_settings))

    assert [report.reminded for report in reports] == [1, 0, 0, 0, 0]
    for address, other, local_start in (
        ("maia0@learner.example", "Ana Coach", "Friday 20 November 2026, 13:50"),
        ("ana0@coaching.example", "Maia", "Friday 20 November 2026, 07:50"),
    ):
        (reminder,) = _reminders_to(mail_dir, address)
        assert reminder.message["Subject"] == f"Reminder: session with {other} on {local_start}"
        # Each person reads the time in their own zone, with the session's number.
        assert local_start in reminder.text()
        assert "Session 1 of 2" in reminder.text()
        calendar = reminder.invite()
        assert str(calendar["METHOD"]) == "REQUEST"
        assert str(calendar.events[0]["UID"]).startswith(session["id"])
    (event,) = await _feed_reminders(client)
    assert event["session_id"] == session["id"]
    assert event["data"]["lead_hours"] == 1
    assert event["data"]["starts_at"] == session["starts_at"].replace("Z", "+00:00")


async def test_each_lead_time_reminds_once_and_a_late_one_is_skipped_and_recorded(
    client: httpx.AsyncClient,
    factory: Factory,
    engine: AsyncEngine,
    ctx: Context,
    clock: Clock,
    relay_settings: Settings,
    mail_dir: Path,
) -> None:
    maia = await _pair(factory, engine, [24, 2])
    start = clock.instant
    session = await booked(client, maia, _at(clock, hours=30))
    session_id = uuid.UUID(session["id"])

    clock.instant = start + timedelta(hours=6)  # 24 hours ahead: the day-before reminder
    day_before = await relay_once(ctx, relay_settings)
    # The worker was down from 1 h 59 min before until 50 minutes before: more than half of
    # the two hours had passed, so that reminder is skipped and recorded, not sent late.
    clock.instant = start + timedelta(hours=29, minutes=10)
    late = await relay_once(ctx, relay_settings)
    again = await relay_once(ctx, relay_settings)

    assert (day_before.reminded, day_before.reminders_skipped) == (1, 0)
    assert (late.reminded, late.reminders_skipped) == (0, 1)
    assert again.idle
    assert [event["data"]["lead_hours"] for event in await _feed_reminders(client)] == [24]
    assert len(_reminders_to(mail_dir, "maia0@learner.example")) == 1
    async with ctx.reading() as uow:
        recorded = await uow.reminders.outcomes(session_id)
    starts_at = start + timedelta(hours=30)
    assert recorded == [(24, starts_at, "sent"), (2, starts_at, "skipped")]


async def test_a_reminder_exactly_half_its_lead_time_late_still_goes_out(
    client: httpx.AsyncClient,
    factory: Factory,
    engine: AsyncEngine,
    ctx: Context,
    clock: Clock,
    relay_settings: Settings,
) -> None:
    first, second = [await _pair(factory, engine, [2], n=n) for n in range(2)]
    await booked(client, first, _at(clock, hours=1))
    await booked(client, second, _at(clock, minutes=59))

    report = await relay_once(ctx, relay_settings)

    assert (report.reminded, report.reminders_skipped) == (1, 1)


async def test_a_reschedule_plans_the_reminder_afresh_and_a_cancel_drops_it(
    client: httpx.AsyncClient,
    factory: Factory,
    engine: AsyncEngine,
    ctx: Context,
    clock: Clock,
    relay_settings: Settings,
    mail_dir: Path,
) -> None:
    maia = await _pair(factory, engine, [1])
    start = clock.instant
    moved = await booked(client, maia, _at(clock, minutes=50))
    dropped = await booked(client, maia, _at(clock, days=2, minutes=50))
    assert (await relay_once(ctx, relay_settings)).reminded == 1

    response = await client.post(
        f"/v1/sessions/{moved['id']}/reschedule",
        json={"starts_at": _at(clock, days=1, minutes=50)},
        headers=auth(),
    )
    assert response.status_code == 200, response.text
    response = await client.post(
        f"/v1/sessions/{dropped['id']}/cancel", json={"message": "Away"}, headers=auth()
    )
    assert response.status_code == 200, response.text
    reports = []
    for days in (1, 2):
        clock.instant = start + timedelta(days=days)
        reports.append(await relay_once(ctx, relay_settings))

    assert [report.reminded for report in reports] == [1, 0]
    events = await _feed_reminders(client)
    assert [(event["session_id"], event["data"]["starts_at"]) for event in events] == [
        (moved["id"], (start + timedelta(minutes=50)).isoformat()),
        (moved["id"], (start + timedelta(days=1, minutes=50)).isoformat()),
    ]
    assert len(_reminders_to(mail_dir, "maia0@learner.example")) == 2


async def test_a_reminder_whose_session_is_cancelled_before_its_mail_goes_out_is_not_mailed(
    client: httpx.AsyncClient,
    factory: Factory,
    engine: AsyncEngine,
    ctx: Context,
    clock: Clock,
    relay_settings: Settings,
    mail_dir: Path,
) -> None:
    maia = await _pair(factory, engine, [1])
    session = await booked(client, maia, _at(clock, minutes=50))
    assert (await claim_reminders(ctx, clock.instant)).sent == 1
    response = await client.post(
        f"/v1/sessions/{session['id']}/cancel", json={"message": "Ill"}, headers=auth()
    )
    assert response.status_code == 200, response.text

    await relay_once(ctx, relay_settings)

    subjects = [mail.message["Subject"] for mail in _mails(mail_dir)]
    assert sorted(subject.split(" with")[0] for subject in subjects) == [
        "Session cancelled",
        "Session cancelled",
        "Session scheduled",
        "Session scheduled",
    ]
    # Webhooks and the feed still learn that the reminder came.
    assert len(await _feed_reminders(client)) == 1


async def test_two_workers_at_once_send_each_reminder_once(
    client: httpx.AsyncClient,
    factory: Factory,
    engine: AsyncEngine,
    database_url: str,
    clock: Clock,
    relay_settings: Settings,
    mail_dir: Path,
) -> None:
    coachees = [await _pair(factory, engine, [1], n=n) for n in range(8)]
    for coachee in coachees:
        await booked(client, coachee, _at(clock, minutes=50))
    # Two workers: each its own engine (its own connections), both on the test clock.
    workers = [Context(engine=build_engine(database_url), clock=clock) for _ in range(2)]
    passes = []
    try:
        for _ in range(3):
            passes.append(
                await asyncio.gather(*(relay_once(worker, relay_settings) for worker in workers))
            )
            clock.instant += timedelta(minutes=1)
    finally:
        for worker in workers:
            await worker.engine.dispose()

    assert len(await _feed_reminders(client)) == 8
    for n in range(8):
        assert len(_reminders_to(mail_dir, f"maia{n}@learner.example")) == 1
        assert len(_reminders_to(mail_dir, f"ana{n}@coaching.example")) == 1
    assert [sum(report.reminded for report in reports) for reports in passes] == [8, 0, 0]


async def test_workers_claiming_in_small_batches_at_once_claim_each_reminder_once(
    client: httpx.AsyncClient,
    factory: Factory,
    engine: AsyncEngine,
    database_url: str,
    clock: Clock,
) -> None:
    coachees = [await _pair(factory, engine, [1], n=n) for n in range(10)]
    for n, coachee in enumerate(coachees):
        await booked(client, coachee, _at(clock, minutes=31 + n % 3))
    workers = [Context(engine=build_engine(database_url), clock=clock) for _ in range(3)]
    rounds: list[list[ReminderReport]] = []
    try:
        while not rounds or any(report.sent for report in rounds[-1]):
            rounds.append(
                await asyncio.gather(
                    *(claim_reminders(worker, clock.instant, batch=3) for worker in workers)
                )
            )
    finally:
        for worker in workers:
            await worker.engine.dispose()

    assert sum(report.sent for reports in rounds for report in reports) == 10
    async with engine.connect() as connection:
        reminded = (
            await connection.execute(select(events.c.session_id).where(events.c.type == REMINDER))
        ).scalars()
        assert sorted(Counter(reminded).values()) == [1] * 10


async def test_two_worker_processes_send_each_reminder_once(
    client: httpx.AsyncClient,
    factory: Factory,
    engine: AsyncEngine,
    database_url: str,
    clock: Clock,
    mail_dir: Path,
) -> None:
    # Real processes read the real clock: the sessions are 50 minutes from now.
    clock.instant = datetime.now(UTC).replace(microsecond=0)
    coachees = [await _pair(factory, engine, [1], n=n) for n in range(5)]
    for coachee in coachees:
        await booked(client, coachee, _at(clock, minutes=50))
    env = {
        **os.environ,
        "SESSION_API_DATABASE_URL": database_url,
        "SESSION_API_JWT_SECRET": JWT_SECRET,
        "SESSION_API_SMTP_HOST": "",
        "SESSION_API_MAIL_DIR": str(mail_dir),
    }
    command = [str(Path(sys.executable).with_name("session-api")), "worker", "--once"]

    workers = [
        await asyncio.create_subprocess_exec(
            *command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = await asyncio.wait_for(
        asyncio.gather(*(worker.communicate() for worker in workers)), timeout=120
    )

    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert len(await _feed_reminders(client)) == 5
    for n in range(5):
        assert len(_reminders_to(mail_dir, f"maia{n}@learner.example")) == 1
        assert len(_reminders_to(mail_dir, f"ana{n}@coaching.example")) == 1


async def test_programs_set_distinct_lead_times_from_1_to_168_hours_at_most_three(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    assert (await factory.program())["reminder_hours"] == []
    program = await factory.program(reminder_hours=[1, 168, 24])
    assert program["reminder_hours"] == [1, 24, 168]

    for refused in ([0], [169], [1, 2, 3, 4], [2, 2], None, ["soon"]):
        body = {"name": "X", "sessions_per_month": 2, "reminder_hours": refused}
        response = await client.post("/v1/programs", json=body, headers=auth())
        assert response.status_code == 422, refused
        assert response.json()["code"] == "validation_error"
        patched = await client.patch(
            f"/v1/programs/{program['id']}", json={"reminder_hours": refused}, headers=auth()
        )
        assert patched.status_code == 422, refused

    patched = await client.patch(
        f"/v1/programs/{program['id']}", json={"reminder_hours": [48]}, headers=auth()
    )
    assert patched.status_code == 200, patched.text
    read = await client.get(f"/v1/programs/{program['id']}", headers=auth())
    assert read.json()["reminder_hours"] == [48]
