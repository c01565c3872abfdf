"""Measure the outbox relay: events fanned out per second, e-mails delivered (as .eml) per second.

Creates a scratch PostgreSQL database (or a SQLite file), migrates it, writes sessions and their
`session.scheduled` events straight into the tables, runs `relay_once` (several at once with
`--relays`), prints the figures, then drops what it created.

    .venv/bin/python scripts/bench_relay.py --database postgresql --events 2000
    .venv/bin/python scripts/bench_relay.py --database postgresql --events 4000 --processes 4
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from session_api.config import Settings
from session_api.db import migrations
from session_api.db.engine import build_engine
from session_api.db.models import coachees, coaches, deliveries, events, programs, sessions
from session_api.services.context import Context
from session_api.services.relay import RelayReport, dispatch_events, relay_once

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


async def _postgres(name: str, *, drop: bool) -> None:
    admin = create_async_engine(
        make_url(POSTGRES_URL).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as connection:
            statement = (
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                if drop
                else f'CREATE DATABASE "{name}"'
            )
            await connection.exec_driver_sql(statement)
    finally:
        await admin.dispose()


async def _seed(url: str, count: int) -> None:
    engine = build_engine(url)
    program_id, people = uuid.uuid4(), 50
    coach_ids = [uuid.uuid4() for _ in range(people)]
    coachee_ids = [uuid.uuid4() for _ in range(people)]
    stamp: dict[str, Any] = {"created_at": NOW, "updated_at": NOW}
    session_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    for n in range(count):
        starts_at = NOW + timedelta(days=1, hours=n)
        session_id, who = uuid.uuid4(), n % people
        session_rows.append(
            {
                "id": session_id,
                "coachee_id": coachee_ids[who],
                "coach_id": coach_ids[who],
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(hours=1),
                "month": starts_at.strftime("%Y-%m"),
                "status": "scheduled",
                "created_by": "admin:bench",
                "version": 1,
                "sequence": 0,
                **stamp,
            }
        )
        event_rows.append(
            {
                "event_id": uuid.uuid4(),
                "type": "session.scheduled",
                "session_id": session_id,
                "coachee_id": coachee_ids[who],
                "occurred_at": NOW,
                "data": {"actor": "admin:bench", "status": "scheduled", "backfill": False},
            }
        )
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(programs).values(
                    id=program_id,
                    name="Bench",
                    sessions_per_month=31,
                    session_minutes=60,
                    late_cancel_hours=0,
                    **stamp,
                )
            )
            await connection.execute(
                insert(coaches),
                [
                    {
                        "id": id_,
                        "name": f"Coach {n}",
                        "email": f"coach{n}@bench.example",
                        "timezone": "America/New_York",
                        "availability": {},
                        **stamp,
                    }
                    for n, id_ in enumerate(coach_ids)
                ],
            )
            await connection.execute(
                insert(coachees),
                [
                    {
                        "id": id_,
                        "name": f"Coachee {n}",
                        "email": f"coachee{n}@bench.example",
                        "timezone": "Europe/Berlin",
                        "program_id": program_id,
                        "coach_id": coach_ids[n],
                        "status": "active",
                        **stamp,
                    }
                    for n, id_ in enumerate(coachee_ids)
                ],
            )
            await connection.execute(insert(sessions), session_rows)
            await connection.execute(insert(events), event_rows)
    finally:
        await engine.dispose()


async def _worker_processes(processes: int, url: str, mail_dir: Path) -> None:
    """`session-api worker --once`, several at once: they share the queue via SKIP LOCKED."""
    env = {
        **os.environ,
        "SESSION_API_DATABASE_URL": url,
        "SESSION_API_JWT_SECRET": "x" * 32,
        "SESSION_API_ENVIRONMENT": "development",
        "SESSION_API_MAIL_DIR": str(mail_dir),
    }
    command = [str(Path(sys.executable).with_name("session-api")), "worker", "--once"]
    workers = [
        await asyncio.create_subprocess_exec(*command, env=env, stdout=asyncio.subprocess.DEVNULL)
        for _ in range(processes)
    ]
    for worker in workers:
        await worker.wait()


async def _measure(url: str, count: int, relays: int, processes: int, mail_dir: Path) -> None:
    settings = Settings(
        database_url=url, jwt_secret="x" * 32, environment="development", mail_dir=mail_dir
    )
    engine = build_engine(url, pool_size=relays + 2)
    ctx = Context(engine=engine, clock=lambda: NOW)
    try:
        started = time.perf_counter()
        dispatched = await asyncio.gather(
            *(dispatch_events(ctx, settings, NOW) for _ in range(relays))
        )
        dispatch_seconds = time.perf_counter() - started
        started = time.perf_counter()
        if processes > 1:
            await _worker_processes(processes, url, mail_dir)
            total = RelayReport()
        else:
            reports = await asyncio.gather(*(relay_once(ctx, settings) for _ in range(relays)))
            total = sum(reports, RelayReport())
        deliver_seconds = time.perf_counter() - started
        async with engine.connect() as connection:
            query = select(deliveries.c.state, func.count().label("n")).group_by(deliveries.c.state)
            states: dict[str, int] = {row.state: row.n for row in await connection.execute(query)}
    finally:
        await engine.dispose()
    files = len(await asyncio.to_thread(lambda: list(mail_dir.glob("*.eml"))))
    delivered = states.get("delivered", 0)
    print(f"events: {count}, relays at once: {relays}, worker processes: {processes}")  # noqa: T201
    print(  # noqa: T201
        f"dispatch: {sum(dispatched)} events in {dispatch_seconds:.2f}s = "
        f"{sum(dispatched) / dispatch_seconds:,.0f} events/s"
    )
    print(  # noqa: T201
        f"deliver:  {delivered} e-mails to .eml in {deliver_seconds:.2f}s = "
        f"{delivered / deliver_seconds:,.0f} e-mails/s ({files} files; states {states}; "
        f"in-process report {total})"
    )


async def main() -> None:
    """Parse arguments, seed, measure, clean up."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--relays", type=int, default=1, help="relay passes in this process")
    parser.add_argument("--processes", type=int, default=1, help="worker processes to deliver")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as scratch:
        if args.database == "sqlite":
            url = f"sqlite+aiosqlite:///{scratch}/bench.sqlite3"
            name = None
        else:
            name = f"session_api_bench_{uuid.uuid4().hex[:10]}"
            await _postgres(name, drop=False)
            url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        try:
            await asyncio.to_thread(migrations.upgrade, url)
            await _seed(url, args.events)
            await _measure(url, args.events, args.relays, args.processes, Path(scratch) / "mail")
        finally:
            if name is not None:
                await _postgres(name, drop=True)


if __name__ == "__main__":
    asyncio.run(main())
