"""Measure the reminder pass: 100,000 sessions whose reminder has come, among many that have not.

Creates a scratch PostgreSQL database, migrates it, bulk-loads programs, coaches, coachees and
sessions with set-based SQL (`generate_series`), then times `claim_reminders` (the planning
step of a worker pass: claim each due reminder once and write its `session.reminder_due`
event), a second pass that finds nothing new, and the fan-out of the events it wrote. Prints
the PostgreSQL plan of the claim statement, then drops the database.

    .venv/bin/python scripts/bench_reminders.py --due 100000 --others 400000
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

# Run as a script, its folder is on sys.path: the scratch-database helper is shared.
from bench_relay import POSTGRES_URL
from bench_relay import _postgres as scratch_database
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.config import Settings
from session_api.db import migrations
from session_api.db.engine import build_engine
from session_api.db.models import events, reminders
from session_api.domain.reminders import reminder_window
from session_api.services.context import Context
from session_api.services.relay import dispatch_events
from session_api.services.reminders import CLAIM_BATCH, claim_reminders

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)

# Set-based seeding: one statement per table. Due sessions start 31..59 minutes after NOW in
# a program with a one-hour reminder; the others spread over the next 60 days (and a few
# cancelled ones inside the hour), in a program with a one-day reminder and one without.
SEED = """
INSERT INTO programs (id, name, sessions_per_month, session_minutes, late_cancel_hours,
                      reminder_hours, created_at, updated_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'Hourly', 31, 60, 0, '[1]', :now, :now),
       ('00000000-0000-0000-0000-000000000002', 'Daily', 31, 60, 0, '[24]', :now, :now),
       ('00000000-0000-0000-0000-000000000003', 'Quiet', 31, 60, 0, '[]', :now, :now);
INSERT INTO coaches (id, name, email, timezone, availability, created_at, updated_at)
SELECT ('00000000-0000-0000-0001-' || lpad(to_hex(n), 12, '0'))::uuid, 'Coach ' || n,
       'coach' || n || '@bench.example', 'America/New_York', '{}', :now, :now
FROM generate_series(1, 1000) AS n;
INSERT INTO coachees (id, name, email, timezone, program_id, coach_id, status,
                      created_at, updated_at)
SELECT ('00000000-0000-0000-0002-' || lpad(to_hex(n), 12, '0'))::uuid, 'Coachee ' || n,
       'coachee' || n || '@bench.example', 'Europe/Berlin',
       ('00000000-0000-0000-0000-00000000000' || (CASE WHEN n <= :due THEN 1
                                                      ELSE 2 + n % 2 END))::uuid,
       ('00000000-0000-0000-0001-' || lpad(to_hex(1 + n % 1000), 12, '0'))::uuid,
       'active', :now, :now
FROM generate_series(1, :due + :others) AS n;
INSERT INTO sessions (id, coachee_id, coach_id, starts_at, ends_at, month, status,
                      created_by, version, sequence, created_at, updated_at)
SELECT gen_random_uuid(), c.id, c.coach_id, t.starts_at, t.starts_at + interval '1 hour',
       to_char(t.starts_at, 'YYYY-MM'),
       CASE WHEN n > :due AND n % 10 = 0 THEN 'cancelled' ELSE 'scheduled' END,
       'admin:bench', 1, 0, :now, :now
FROM generate_series(1, :due + :others) AS n
JOIN coachees c ON c.id = ('00000000-0000-0000-0002-' || lpad(to_hex(n), 12, '0'))::uuid
CROSS JOIN LATERAL (
    SELECT CASE WHEN n <= :due OR n % 10 = 0
                THEN :now + interval '31 minutes' + (n % 28) * interval '1 minute'
                ELSE :now + interval '2 hours' + (n % 86400) * interval '1 minute' END
) AS t(starts_at);
ANALYZE;
"""


async def _seed(engine: AsyncEngine, due: int, others: int) -> None:
    raw_statements = [part.strip() for part in SEED.split(";") if part.strip()]
    async with engine.begin() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        for statement in raw_statements:
            sql = (
                statement.replace(":now", "$1::timestamptz")
                .replace(":due", f"{due}")
                .replace(":others", f"{others}")
            )
            if "$1" in sql:
                await driver.execute(sql, NOW)
            else:
                await driver.execute(sql)


async def _explain(engine: AsyncEngine) -> str:
    """The plan of the claim statement, as the pass sends it (captured, then explained)."""
    captured: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().startswith("INSERT INTO reminders"):
            captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    ctx = Context(engine=engine)
    try:
        async with ctx.writing() as uow:
            programs_by_hours = await uow.reminders.lead_times()
            window = reminder_window(1, NOW)
            through = await uow.reminders.batch_end(window, after=None, size=CLAIM_BATCH)
            # Run once to capture the statement, undone, then explained as it ran.
            savepoint = await uow.connection.begin_nested()
            await uow.reminders.claim(window, programs_by_hours[1], after=None, through=through)
            await savepoint.rollback()
            statement, parameters = captured[0]
            driver = (await uow.connection.get_raw_connection()).driver_connection
            assert driver is not None
            rows = await driver.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *parameters)
            # Rolled back: the timed pass below starts from nothing claimed.
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    return "\n".join(row[0] for row in rows)


async def _count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


def _say(text: str) -> None:
    print(text, flush=True)  # noqa: T201


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=400_000)
    args = parser.parse_args()
    name = f"session_api_bench_{uuid.uuid4().hex[:8]}"
    await scratch_database(name, drop=False)
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        engine = build_engine(url)
        try:
            started = time.perf_counter()
            await _seed(engine, args.due, args.others)
            _say(
                f"seeded {args.due + args.others} sessions in {time.perf_counter() - started:.1f} s"
            )
            _say(await _explain(engine))
            ctx = Context(engine=engine, clock=lambda: NOW)

            started = time.perf_counter()
            report = await claim_reminders(ctx, NOW)
            first = time.perf_counter() - started
            _say(f"pass 1: {report} in {first:.2f} s ({report.sent / first:,.0f} reminders/s)")

            started = time.perf_counter()
            again = await claim_reminders(ctx, NOW)
            _say(f"pass 2 (nothing new): {again} in {time.perf_counter() - started:.2f} s")

            settings = Settings(database_url=url, jwt_secret="x" * 32, worker_batch_size=1000)
            started = time.perf_counter()
            fanned = await dispatch_events(ctx, settings, NOW)
            _say(f"fan-out of {fanned} events: {time.perf_counter() - started:.2f} s")
            claimed, written = await _count(engine, reminders), await _count(engine, events)
            _say(f"reminders rows {claimed}, events {written}")
        finally:
            await engine.dispose()
    finally:
        await scratch_database(name, drop=True)


if __name__ == "__main__":
    asyncio.run(main())
