"""Measure the usage report: the whole CSV over N coachees x 24 months, and the server's peak RSS.

Creates a scratch PostgreSQL database, migrates it, bulk-loads coachees and two sessions per
coachee and month with set-based SQL (not through the API), starts `session-api serve` (one
process) on loopback, then times a JSON page and the streamed CSV and reads the server's
VmHWM (peak resident memory) from /proc. Drops the database at the end unless `--keep`.

    .venv/bin/python scripts/bench_usage.py --coachees 10000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import jwt

POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
ZONES = ("Europe/Berlin", "America/Los_Angeles", "UTC", "Asia/Tokyo")

# Two sessions per coachee and month of 2025-12..2027-11; months behind us took place
# (mostly), months ahead are booked. Statuses cycle so every column has something to count.
LOAD = """
INSERT INTO programs (id, name, sessions_per_month, session_minutes, late_cancel_hours,
                      created_at, updated_at)
SELECT gen_random_uuid(), 'Program ' || n, 2 + n % 3, 60, 24, now(), now()
FROM generate_series(1, 20) AS n;

INSERT INTO coaches (id, name, email, timezone, availability, created_at, updated_at)
SELECT gen_random_uuid(), 'Coach ' || n, 'coach' || n || '@example.com', 'UTC',
       '{"weekly": [], "overrides": []}', now(), now()
FROM generate_series(1, 100) AS n;

WITH p AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM programs),
     c AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM coaches)
INSERT INTO coachees (id, name, email, timezone, program_id, coach_id, status,
                      created_at, updated_at)
SELECT gen_random_uuid(), 'Coachee ' || lpad(n::text, 6, '0'), 'c' || n || '@example.com',
       ($2::text[])[1 + n % 4], p.id, c.id, 'active', now(), now()
FROM generate_series(1, $1::int) AS n
JOIN p ON p.k = n % 20
JOIN c ON c.k = n % 100;

INSERT INTO sessions (id, coachee_id, coach_id, starts_at, ends_at, month, status,
                      created_by, version, sequence, created_at, updated_at)
SELECT gen_random_uuid(), e.id, e.coach_id, s.starts_at, s.starts_at + interval '1 hour',
       to_char(s.starts_at AT TIME ZONE e.timezone, 'YYYY-MM'),
       CASE
         WHEN s.starts_at > now() THEN (ARRAY['scheduled', 'requested'])[s.k]
         ELSE (ARRAY['completed', 'completed', 'completed', 'no_show', 'cancelled',
                     'late_cancelled', 'scheduled'])[1 + (s.n + s.m + s.k) % 7]
       END,
       'admin:bench', 1, 0, now(), now()
FROM (SELECT id, coach_id, timezone, row_number() OVER (ORDER BY id) AS n FROM coachees) AS e
CROSS JOIN LATERAL (
  SELECT m, k, e.n,
         (DATE '2025-12-01' + make_interval(months => m, days => (k * 9 + e.n % 7)::int,
                                              hours => 9))
           AT TIME ZONE 'UTC' AS starts_at
  FROM generate_series(0, 23) AS m, generate_series(1, 2) AS k
) AS s;

ANALYZE;
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


async def _load(database: str, coachees: int) -> None:
    connection = await asyncpg.connect(POSTGRES.rsplit("/", 1)[0] + f"/{database}")
    try:
        started = time.perf_counter()
        for statement in LOAD.split(";\n"):
            if statement.strip():
                args = [coachees, list(ZONES)] if "$1" in statement else []
                await connection.execute(statement, *args)
        count = await connection.fetchval("SELECT count(*) FROM sessions")
        seconds = time.perf_counter() - started
        print(f"loaded {coachees} coachees, {count} sessions in {seconds:.1f} s")  # noqa: T201
    finally:
        await connection.close()


async def _measure(base_url: str, token: str, pid: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    params = {"from": "2025-12", "to": "2027-11"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=600) as client:
        for _ in range(100):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        print(f"server up: peak RSS {_peak_rss_kib(pid) / 1024:.1f} MiB")  # noqa: T201
        cursor: dict[str, str] = {}
        for n in range(1, 4):  # the first page is cold (pool, token, statement compiled)
            started = time.perf_counter()
            page = await client.get("/v1/reports/usage", params={**params, "limit": 200, **cursor})
            page.raise_for_status()
            cursor = {"cursor": page.json()["next_cursor"]}
            print(f"JSON page {n} of 200: {(time.perf_counter() - started) * 1000:.0f} ms")  # noqa: T201
        started = time.perf_counter()
        size = lines = 0
        async with client.stream(
            "GET", "/v1/reports/usage", params=params, headers={"Accept": "text/csv"}
        ) as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
        print(  # noqa: T201
            f"CSV: {lines - 1} rows, {size / 1e6:.1f} MB in {seconds:.1f} s; "
            f"server peak RSS {_peak_rss_kib(pid) / 1024:.1f} MiB"
        )


def main() -> None:
    """Run the measurement described in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--coachees", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the database (for EXPLAIN)")
    args = parser.parse_args()

    name = f"session_api_usage_{uuid.uuid4().hex[:10]}"
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    secret = secrets.token_urlsafe(48)
    env = {**os.environ, "SESSION_API_DATABASE_URL": url, "SESSION_API_JWT_SECRET": secret}
    cli = str(Path(sys.executable).with_name("session-api"))
    port = _free_port()
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    server = None
    try:
        subprocess.run([cli, "migrate"], env=env, check=True, capture_output=True)  # noqa: S603
        asyncio.run(_load(name, args.coachees))
        server = subprocess.Popen(  # noqa: S603
            [cli, "serve", "--port", str(port), "--workers", "1"],
            env={**env, "UVICORN_LOG_LEVEL": "warning"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        now = datetime.now(UTC)
        token = jwt.encode(
            {"sub": "bench", "role": "admin", "iat": now, "exp": now + timedelta(hours=1)},
            secret,
            algorithm="HS256",
        )
        asyncio.run(_measure(f"http://127.0.0.1:{port}", token, server.pid))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if args.keep:
            print(f"kept database {name}")  # noqa: T201
        else:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
