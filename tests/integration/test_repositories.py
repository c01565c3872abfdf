"""The repositories besides the session repository, on both databases: their main queries."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from fastapi import FastAPI
from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.db.models import deliveries, events, sessions
from session_api.db.precompiled import ReadStatement, _compile
from session_api.db.repositories.coachees import NewCoachee
from session_api.db.repositories.coaches import CoachChanges, NewCoach
from session_api.db.repositories.events import NewEvent
from session_api.db.repositories.outbox import DeliveryOutcome, NewDelivery
from session_api.db.repositories.programs import NewProgram
from session_api.db.repositories.sessions import NumberedSession
from session_api.db.repositories.views import FutureSessions
from session_api.db.repositories.webhooks import NewWebhook
from session_api.db.unit_of_work import UnitOfWork
from session_api.services.context import Context
from tests.support import counting_statements

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def ctx(app: FastAPI, client: Any) -> Context:
    """The app's context; `client` is asked for so that the tables are emptied afterwards."""
    context: Context = app.state.context
    return context


async def _people(ctx: Context, *, coaches: int = 1) -> dict[str, Any]:
    """A program, `coaches` coaches and one coachee of the first coach."""
    async with ctx.writing() as uow:
        program = await uow.programs.add(NewProgram(name="Leadership", sessions_per_month=2))
        coach_rows = [
            await uow.coaches.add(
                NewCoach(name=f"Coach {n}", email=f"coach{n}@example.com", timezone="Europe/Berlin")
            )
            for n in range(coaches)
        ]
        coachee = await uow.coachees.add(
            NewCoachee(
                name="Maia",
                email="maia@example.com",
                timezone="America/New_York",
                program_id=program.id,
                coach_id=coach_rows[0].id,
            )
        )
        await uow.commit()
    return {"program": program, "coaches": coach_rows, "coachee": coachee}


async def _sessions(
    ctx: Context, people: dict[str, Any], *rows: tuple[datetime, str], coach: int = 0
) -> list[uuid.UUID]:
    """Sessions of an hour (start, status), written directly: the set-up, not the subject."""
    ids = [uuid.uuid4() for _ in rows]
    async with ctx.writing() as uow:
        for id_, (starts_at, status) in zip(ids, rows, strict=True):
            await uow.connection.execute(
                insert(sessions).values(
                    id=id_,
                    coachee_id=people["coachee"].id,
                    coach_id=people["coaches"][coach].id,
                    starts_at=starts_at,
                    ends_at=starts_at + HOUR,
                    month=starts_at.strftime("%Y-%m"),
                    status=status,
                    created_by="admin:test",
                )
            )
        await uow.commit()
    return ids


# --- programs, coaches, coachees: the shared queries -------------------------------------------


async def test_add_returns_the_row_as_stored_and_get_finds_it(ctx: Context) -> None:
    async with ctx.writing() as uow:
        added = await uow.programs.add(NewProgram(name="Leadership", sessions_per_month=3))
        await uow.commit()
    async with ctx.reading() as uow:
        found = await uow.programs.get(added.id)
        missing = await uow.programs.get(uuid.uuid4())

    assert (added.name, added.sessions_per_month, added.session_minutes) == ("Leadership", 3, 60)
    assert found == added
    assert missing is None


async def test_change_returns_the_changed_row_or_none(ctx: Context) -> None:
    people = await _people(ctx)
    async with ctx.writing() as uow:
        changed = await uow.coaches.change(people["coaches"][0].id, CoachChanges(name="Ana"))
        nobody = await uow.coaches.change(uuid.uuid4(), CoachChanges(name="Nobody"))
        await uow.commit()

    assert changed is not None
    assert (changed.id, changed.name, changed.email) == (
        people["coaches"][0].id,
        "Ana",
        "coach0@example.com",
    )
    assert nobody is None


async def test_pages_go_by_id_and_fetch_one_extra_row(ctx: Context) -> None:
    people = await _people(ctx, coaches=5)
    ids = sorted(coach.id for coach in people["coaches"])
    async with ctx.reading() as uow:
        first = await uow.coaches.page(after=None, limit=2)
        after_second = await uow.coaches.page(after=ids[1], limit=2)
        last = await uow.coaches.page(after=ids[3], limit=2)

    assert [row.id for row in first] == ids[:3]
    assert [row.id for row in after_second] == ids[2:5]
    assert [row.id for row in last] == ids[4:]


async def test_a_page_can_be_limited_to_some_ids(ctx: Context) -> None:
    people = await _people(ctx, coaches=3)
    ids = sorted(coach.id for coach in people["coaches"])
    async with ctx.reading() as uow:
        two = await uow.coaches.page(after=None, limit=10, only=[ids[2], ids[0]])
        none = await uow.coaches.page(after=None, limit=10, only=[])

    assert [row.id for row in two] == [ids[0], ids[2]]
    assert none == []


async def test_a_coachs_coachees_page(ctx: Context) -> None:
    people = await _people(ctx, coaches=2)
    first_coach, second_coach = people["coaches"]
    async with ctx.writing() as uow:
        other = await uow.coachees.add(
            NewCoachee(
                name="Noa",
                email="noa@example.com",
                timezone="UTC",
                program_id=people["program"].id,
                coach_id=second_coach.id,
            )
        )
        await uow.commit()
    async with ctx.reading() as uow:
        of_first = await uow.coachees.page_of_coach(first_coach.id, after=None, limit=10)
        of_second = await uow.coachees.page_of_coach(second_coach.id, after=None, limit=10)

    assert [row.id for row in of_first] == [people["coachee"].id]
    assert [row.id for row in of_second] == [other.id]


# --- idempotency records ----------------------------------------------------------------------


async def test_an_idempotency_key_is_taken_once_answered_and_released(ctx: Context) -> None:
    async with ctx.writing() as uow:
        assert await uow.idempotency.take("admin:ops", "key-1", "h" * 64, NOW)
        await uow.commit()
    async with ctx.writing() as uow:
        # A second request with the same key finds it held and still running.
        assert not await uow.idempotency.take("admin:ops", "key-1", "h" * 64, NOW)
        running = await uow.idempotency.held("admin:ops", "key-1")
        await uow.idempotency.answer(
            "admin:ops", "key-1", 201, '{"first": true}', {"content-type": "application/json"}
        )
        await uow.commit()
    async with ctx.reading() as uow:
        kept = await uow.idempotency.held("admin:ops", "key-1")
        another_callers = await uow.idempotency.held("coach:someone", "key-1")

    assert running is not None
    assert running.running
    assert kept is not None
    assert not kept.running
    assert (kept.status_code, kept.response_body) == (201, '{"first": true}')
    assert another_callers is None

    async with ctx.writing() as uow:
        assert await uow.idempotency.take("admin:ops", "key-2", "h" * 64, NOW)
        # Only a key whose request never answered is released.
        await uow.idempotency.release("admin:ops", "key-2", "h" * 64)
        await uow.idempotency.release("admin:ops", "key-1", "h" * 64)
        await uow.commit()
    async with ctx.reading() as uow:
        assert await uow.idempotency.held("admin:ops", "key-2") is None
        assert await uow.idempotency.held("admin:ops", "key-1") is not None


# --- calendars --------------------------------------------------------------------------------


async def test_invites_carry_both_peoples_details_and_the_number(ctx: Context) -> None:
    people = await _people(ctx)
    first, cancelled, second = await _sessions(
        ctx,
        people,
        (NOW + 24 * HOUR, "scheduled"),
        (NOW + 48 * HOUR, "cancelled"),
        (NOW + 72 * HOUR, "requested"),
    )
    async with ctx.reading() as uow:
        invites = await uow.calendars.invites([second, cancelled, first])
        nothing = await uow.calendars.invites([])

    assert set(invites) == {first, cancelled, second}
    invite = invites[second]
    assert (invite.coach_name, invite.coach_email, invite.coach_timezone) == (
        "Coach 0",
        "coach0@example.com",
        "Europe/Berlin",
    )
    assert (invite.coachee_name, invite.coachee_email, invite.coachee_timezone) == (
        "Maia",
        "maia@example.com",
        "America/New_York",
    )
    assert [invites[id_].session_number for id_ in (first, cancelled, second)] == [1, None, 2]
    assert nothing == {}


async def test_a_coachs_upcoming_sessions_are_the_open_ones_not_yet_ended(ctx: Context) -> None:
    people = await _people(ctx, coaches=2)
    _ended, running, later, soon, _cancelled = await _sessions(
        ctx,
        people,
        (NOW - 2 * HOUR, "scheduled"),
        (NOW - HOUR / 2, "scheduled"),
        (NOW + 48 * HOUR, "requested"),
        (NOW + 24 * HOUR, "scheduled"),
        (NOW + 30 * HOUR, "cancelled"),
    )
    await _sessions(ctx, people, (NOW + 24 * HOUR, "scheduled"), coach=1)
    coach_id = people["coaches"][0].id
    async with ctx.reading() as uow:
        upcoming = await uow.calendars.coach_upcoming(coach_id, now=NOW, limit=10)
        first_two = await uow.calendars.coach_upcoming(coach_id, now=NOW, limit=2)

    assert [row.id for row in upcoming] == [running, soon, later]
    assert [row.id for row in first_two] == [running, soon]


# --- events, the outbox and the feed ----------------------------------------------------------


async def _record_month_events(ctx: Context, coachee_id: uuid.UUID, count: int) -> None:
    async with ctx.writing() as uow:
        await uow.events.record_many(
            [
                NewEvent(
                    "coachee.month_full",
                    coachee_id=coachee_id,
                    occurred_at=NOW,
                    data={"n": n},
                )
                for n in range(count)
            ]
        )
        await uow.commit()


async def test_events_are_recorded_each_with_its_own_id(ctx: Context) -> None:
    coachee_id = uuid.uuid4()
    await _record_month_events(ctx, coachee_id, 3)
    async with ctx.writing() as uow:
        await uow.events.record_many([])
        await uow.commit()
    async with ctx.reading() as uow:
        rows = (await uow.connection.execute(select(events).order_by(events.c.id))).all()

    assert [row.data for row in rows] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert {row.coachee_id for row in rows} == {coachee_id}
    assert len({row.event_id for row in rows}) == 3
    assert {row.dispatched_at for row in rows} == {None}


async def test_claimed_events_are_published_to_the_feed_in_order(ctx: Context) -> None:
    people = await _people(ctx)
    (session_id,) = await _sessions(ctx, people, (NOW + 24 * HOUR, "scheduled"))
    await _record_month_events(ctx, people["coachee"].id, 2)
    async with ctx.writing() as uow:
        await uow.events.record_many(
            [
                NewEvent(
                    "session.scheduled",
                    coachee_id=people["coachee"].id,
                    session_id=session_id,
                    occurred_at=NOW,
                    data={"n": 2},
                )
            ]
        )
        await uow.commit()

    async with ctx.writing() as uow:
        claimed = await uow.outbox.claim_undispatched(limit=2)
        await uow.outbox.publish([row.id for row in claimed], NOW)
        await uow.commit()
    async with ctx.writing() as uow:
        rest = await uow.outbox.claim_undispatched(limit=10)
        await uow.outbox.publish([row.id for row in rest], NOW)
        await uow.commit()
    async with ctx.reading() as uow:
        feed = await uow.outbox.feed(after=0, limit=10)
        after_first = await uow.outbox.feed(after=feed[0].feed_position, limit=1)
        nothing_left = await uow.outbox.claim_undispatched(limit=10)

    assert [row.data for row in claimed] == [{"n": 0}, {"n": 1}]
    assert [row.coach_id for row in claimed] == [None, None]
    assert [(row.data, row.coach_id) for row in rest] == [({"n": 2}, people["coaches"][0].id)]
    assert [row.data for row in feed] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert [row.feed_position for row in feed] == sorted(row.feed_position for row in feed)
    assert [row.data for row in after_first] == [{"n": 1}]
    assert nothing_left == []


async def test_a_claimed_delivery_is_leased_and_counted(ctx: Context) -> None:
    await _record_month_events(ctx, uuid.uuid4(), 1)
    lease_until = NOW + timedelta(minutes=5)
    async with ctx.writing() as uow:
        (claimed_event,) = await uow.outbox.claim_undispatched(limit=1)
        await uow.outbox.add_deliveries(
            [
                NewDelivery(claimed_event.id, "webhook", str(uuid.uuid4()), NOW, created_at=NOW),
                NewDelivery(
                    claimed_event.id, "webhook", str(uuid.uuid4()), NOW + HOUR, created_at=NOW
                ),
            ]
        )
        await uow.commit()

    async with ctx.writing() as uow:
        due = await uow.outbox.claim_due(now=NOW, limit=10, lease_until=lease_until)
        await uow.commit()
    async with ctx.writing() as uow:
        while_leased = await uow.outbox.claim_due(now=NOW, limit=10, lease_until=lease_until)
        await uow.commit()
    async with ctx.reading() as uow:
        stored = (
            await uow.connection.execute(select(deliveries).where(deliveries.c.id == due[0].id))
        ).one()

    assert [(row.event.type, row.attempts) for row in due] == [("coachee.month_full", 0)]
    assert while_leased == []
    assert (stored.attempts, stored.next_attempt_at, stored.state) == (1, lease_until, "pending")


async def test_a_result_lands_only_for_the_attempt_that_was_leased(ctx: Context) -> None:
    await _record_month_events(ctx, uuid.uuid4(), 1)
    async with ctx.writing() as uow:
        (claimed_event,) = await uow.outbox.claim_undispatched(limit=1)
        await uow.outbox.add_deliveries(
            [NewDelivery(claimed_event.id, "webhook", str(uuid.uuid4()), NOW, created_at=NOW)]
        )
        (due,) = await uow.outbox.claim_due(now=NOW, limit=1, lease_until=NOW + HOUR)
        stale = DeliveryOutcome(due.id, due.attempts, "failed", NOW, "an older lease", None)
        delivered = DeliveryOutcome(due.id, due.attempts + 1, "delivered", NOW, None, NOW + HOUR)
        await uow.outbox.settle([stale])
        await uow.outbox.settle([delivered])
        await uow.outbox.settle([replace(stale, attempts=due.attempts + 1)])
        await uow.commit()
    async with ctx.reading() as uow:
        stored = (
            await uow.connection.execute(select(deliveries).where(deliveries.c.id == due.id))
        ).one()

    assert (stored.state, stored.delivered_at, stored.last_error) == ("delivered", NOW + HOUR, None)


# --- webhook subscriptions --------------------------------------------------------------------


def _webhook(url: str, *, active: bool = True) -> NewWebhook:
    return NewWebhook(
        url=url, secret="s" * 32, event_types=None, created_at=NOW, updated_at=NOW, active=active
    )


async def test_webhook_subscriptions_active_by_id_and_removed(ctx: Context) -> None:
    async with ctx.writing() as uow:
        on = await uow.webhooks.add(_webhook("https://a.example.com/"))
        off = await uow.webhooks.add(_webhook("https://b.example.com/", active=False))
        await uow.commit()
    async with ctx.writing() as uow:
        active = await uow.webhooks.active()
        by_id = await uow.webhooks.by_ids([on.id, off.id, uuid.uuid4()])
        removed = await uow.webhooks.remove(off.id)
        removed_again = await uow.webhooks.remove(off.id)
        await uow.commit()

    assert [row.id for row in active] == [on.id]
    assert set(by_id) == {on.id, off.id}
    assert (removed, removed_again) == (True, False)


# --- hot reads: one statement, two executors ---------------------------------------------------


async def test_hot_reads_answer_the_same_rows_outside_and_inside_a_transaction(
    ctx: Context, engine: AsyncEngine
) -> None:
    # A read unit of work runs them precompiled on asyncpg (PostgreSQL); a writing one, and
    # SQLite, through SQLAlchemy. Both must give the same typed rows, and both are counted.
    people = await _people(ctx)
    ids = await _sessions(
        ctx,
        people,
        (NOW + HOUR, "scheduled"),
        (NOW + 3 * HOUR, "requested"),
        (NOW + 5 * HOUR, "cancelled"),
        (NOW - 5 * HOUR, "completed"),
    )
    coach_id = people["coaches"][0].id
    coachee_id = people["coachee"].id

    async def everything(uow: UnitOfWork) -> list[Any]:
        return [
            await uow.sessions.numbered(ids[0]),
            await uow.sessions.numbered(ids[2]),
            await uow.sessions.numbered(uuid.uuid4()),
            await uow.views.next_sessions(coach_id=coach_id, now=NOW),
            await uow.views.future_sessions(
                FutureSessions(now=NOW, coach_id=coach_id), after=None, limit=10
            ),
            await uow.views.future_sessions(
                FutureSessions(now=NOW, statuses=["requested"]), after=None, limit=10
            ),
            await uow.views.coachee_months(coachee_id, first_month="2026-10", last_month="2026-12"),
        ]

    with counting_statements(engine) as outside:
        async with ctx.reading() as uow:
            read = await everything(uow)
    async with ctx.writing() as uow:
        written = await everything(uow)

    assert read == written
    assert len(outside) == 7
    numbered, cancelled, missing, next_ones, future, requested, months = read
    assert isinstance(numbered, NumberedSession)
    assert numbered.starts_at == NOW + HOUR
    assert numbered.starts_at.tzinfo is UTC
    assert (numbered.session_number, cancelled.session_number, missing) == (2, None, None)
    assert [row.id for row in next_ones] == [ids[0]]
    assert [row.id for row in future] == ids[:2]
    assert [row.id for row in requested] == [ids[1]]
    assert months.counts == {
        "2026-11": {"scheduled": 1, "requested": 1, "cancelled": 1, "completed": 1}
    }


class _IdAndStatus(NamedTuple):
    id: uuid.UUID
    status: str


# Constant lists (`status.in_(...)`), a list given per request, and an empty constant list.
_BY_LISTS = ReadStatement(
    select(sessions.c.id, sessions.c.status)
    .where(
        sessions.c.status.in_(["scheduled", "requested"]),
        sessions.c.status.not_in(["no_show", "late_cancelled"]),
        sessions.c.id.in_(bindparam("ids", expanding=True)),
        sessions.c.note.not_in([]),
    )
    .order_by(sessions.c.starts_at),
    _IdAndStatus,
)


def test_a_constant_list_is_sent_member_by_member_and_a_bound_one_as_an_array() -> None:
    # asyncpg checks an array and each of its members against `collections.abc` classes;
    # a constant list is sent as SQLAlchemy itself sends it, one parameter per member.
    dialect = asyncpg.dialect()  # type: ignore[no-untyped-call]
    compiled = _compile(_BY_LISTS.statement, dialect)
    assert " IN ($" in compiled.sql
    assert " NOT IN ($" in compiled.sql
    assert compiled.sql.count("ANY($") == 1
    members = [value for name, _, value in compiled.parameters if name is None]
    assert members[-4:] == ["scheduled", "requested", "no_show", "late_cancelled"]
    assert [name for name, _, _ in compiled.parameters if name is not None] == ["ids"]


async def test_lists_read_the_same_rows_on_both_executors(ctx: Context) -> None:
    people = await _people(ctx)
    ids = await _sessions(
        ctx,
        people,
        (NOW + HOUR, "scheduled"),
        (NOW + 3 * HOUR, "requested"),
        (NOW + 5 * HOUR, "cancelled"),
        (NOW - 5 * HOUR, "no_show"),
    )
    wanted = {"ids": [*ids, uuid.uuid4()]}
    async with ctx.reading() as uow:
        read = await _BY_LISTS.all(uow.connection, wanted)
    async with ctx.writing() as uow:
        through_sqlalchemy = await _BY_LISTS.all(uow.connection, wanted)
        in_transaction = await _BY_LISTS.in_transaction(uow.connection, wanted)
    assert read == through_sqlalchemy == in_transaction
    assert read == [(ids[0], "scheduled"), (ids[1], "requested")]


async def _drop_backend(ctx: Context, uow: UnitOfWork) -> None:
    """Terminate the PostgreSQL backend under a unit of work, as a lost connection would."""
    raw = await uow.connection.get_raw_connection()
    assert raw.driver_connection is not None
    pid = raw.driver_connection.get_server_pid()
    async with ctx.engine.connect() as other:
        await other.execute(select(func.pg_terminate_backend(pid)))


@pytest.mark.postgresql  # the precompiled path runs on PostgreSQL only
async def test_a_hot_read_on_a_dropped_connection_fails_as_sqlalchemy_reports_it(
    ctx: Context,
) -> None:
    # The problem handlers answer 503 for an invalidated connection; the precompiled path
    # must not turn a lost connection into a bare driver error (a 500).
    async with ctx.reading() as uow:
        await _drop_backend(ctx, uow)
        with pytest.raises(DBAPIError) as failure:
            await uow.sessions.numbered(uuid.uuid4())
    assert failure.value.connection_invalidated


# --- a write's statements, precompiled inside its transaction -------------------------------


@pytest.mark.postgresql  # SQLite's BEGIN IMMEDIATE locks the whole database
async def test_the_booking_lock_holds_until_the_write_commits(ctx: Context) -> None:
    # On PostgreSQL the lock runs on the driver, past SQLAlchemy's lazy BEGIN: it must have
    # begun the transaction first, or FOR UPDATE would lock nothing beyond its own statement.
    coachee_id = (await _people(ctx))["coachee"].id
    async with ctx.writing() as uow:
        facts = await uow.bookings.lock(coachee_id)
        assert facts is not None
        assert facts.coachee_id == coachee_id
        async with ctx.engine.connect() as other:
            with pytest.raises(DBAPIError) as failure:
                await other.execute(
                    text("SELECT 1 FROM coachees WHERE id = :id FOR UPDATE NOWAIT"),
                    {"id": coachee_id},
                )
            assert getattr(failure.value.orig, "sqlstate", None) == "55P03"  # lock_not_available
        await uow.commit()


@pytest.mark.postgresql  # a PostgreSQL backend is what gets dropped
async def test_a_write_on_a_dropped_connection_fails_as_sqlalchemy_reports_it(
    ctx: Context,
) -> None:
    # Inside a transaction the statement cannot simply run again through SQLAlchemy; the
    # driver's error is raised as SQLAlchemy raises it, so a lost connection answers 503.
    coachee_id = (await _people(ctx))["coachee"].id
    async with ctx.writing() as uow:
        assert await uow.bookings.lock(coachee_id) is not None
        await _drop_backend(ctx, uow)
        with pytest.raises(DBAPIError) as failure:
            await uow.sessions.usage(coachee_id, "2026-11")
    assert failure.value.connection_invalidated


@pytest.mark.postgresql  # the driver path is PostgreSQL's
async def test_a_database_error_in_a_write_keeps_its_code(ctx: Context) -> None:
    # What the problem handlers look at (a `DBAPIError` and the SQLSTATE of its `orig`)
    # survives the driver path; the next write locks the coachee as usual.
    coachee_id = (await _people(ctx))["coachee"].id
    async with ctx.engine.connect() as other:
        await other.execute(
            text("SELECT 1 FROM coachees WHERE id = :id FOR UPDATE"), {"id": coachee_id}
        )
        async with ctx.writing() as uow:
            await uow.connection.execute(text("SET LOCAL lock_timeout = '20ms'"))
            with pytest.raises(DBAPIError) as failure:
                await uow.bookings.lock(coachee_id)
        await other.rollback()
    assert getattr(failure.value.orig, "sqlstate", None) == "55P03"  # lock_not_available
    assert not failure.value.connection_invalidated
    async with ctx.writing() as uow:
        assert await uow.bookings.lock(coachee_id) is not None


async def test_the_first_conflict_is_the_earliest_open_one_of_the_coach_or_the_coachee(
    ctx: Context,
) -> None:
    # Each person's open sessions are scanned apart (along their own index), then the
    # earliest of both wins; a cancelled session never conflicts.
    people = await _people(ctx, coaches=2)
    first, second, _ = await _sessions(
        ctx,
        people,
        (NOW + HOUR, "scheduled"),
        (NOW + 2 * HOUR, "requested"),
        (NOW + HOUR / 2, "cancelled"),
    )
    busy_coach, free_coach = people["coaches"][0].id, people["coaches"][1].id
    coachee_id = people["coachee"].id
    starts_at, ends_at = NOW, NOW + 5 * HOUR
    async with ctx.writing() as uow:
        by_coach = await uow.sessions.first_conflict(
            coach_id=busy_coach, coachee_id=uuid.uuid4(), starts_at=starts_at, ends_at=ends_at
        )
        by_coachee = await uow.sessions.first_conflict(
            coach_id=free_coach, coachee_id=coachee_id, starts_at=starts_at, ends_at=ends_at
        )
        excluded = await uow.sessions.first_conflict(
            coach_id=busy_coach,
            coachee_id=coachee_id,
            excluding=first,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        ledger = await uow.sessions.ledger(
            coach_id=free_coach,
            coachee_id=coachee_id,
            first_month="2026-11",
            last_month=None,
            excluding=first,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        nothing = await uow.sessions.first_conflict(
            coach_id=busy_coach, coachee_id=coachee_id, starts_at=NOW, ends_at=NOW + HOUR
        )
    assert by_coach is not None
    assert by_coachee is not None
    assert excluded is not None
    assert (by_coach.id, by_coachee.id, excluded.id, nothing) == (first, first, second, None)
    assert [open_.id for open_ in ledger.open_sessions] == [second]


@pytest.mark.postgresql  # a PostgreSQL backend is what gets dropped
async def test_a_commit_on_a_dropped_connection_fails_as_sqlalchemy_reports_it(
    ctx: Context,
) -> None:
    # The COMMIT is sent past SQLAlchemy's greenlet; a lost connection must still come out
    # as SQLAlchemy's DBAPIError with the connection invalidated (503), and the unit of work
    # must still give the connection back.
    coachee_id = (await _people(ctx))["coachee"].id
    async with ctx.writing() as uow:
        assert await uow.bookings.lock(coachee_id) is not None
        await _drop_backend(ctx, uow)
        with pytest.raises(DBAPIError) as failure:
            await uow.commit()
    assert failure.value.connection_invalidated
    async with ctx.writing() as uow:
        assert await uow.bookings.lock(coachee_id) is not None
        await uow.commit()
