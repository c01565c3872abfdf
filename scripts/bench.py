"""Load-test the hot paths on loopback: booking sessions and reading them back.

Creates a scratch PostgreSQL database (or a SQLite file), starts `session-api serve` on a free
loopback port, seeds coachees through the API, fires concurrent requests for a fixed time,
prints throughput and latency percentiles, then stops the server and drops what it created.

    .venv/bin/python scripts/bench.py --database postgresql --workers 2 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import jwt

POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _token(secret: str, role: str = "admin", sub: str = "bench") -> str:
    now = datetime.now(UTC)
    claims = {"sub": sub, "role": role, "iat": now, "exp": now + timedelta(hours=1)}
    return jwt.encode(claims, secret, algorithm="HS256")


async def _seed(client: httpx.AsyncClient, coachees: int) -> list[str]:
    program = await client.post("/v1/programs", json={"name": "Bench", "sessions_per_month": 31})
    coach_ids = []
    for n in range(coachees):
        coach = await client.post(
            "/v1/coaches",
            json={"name": f"Coach {n}", "email": f"c{n}@example.com", "timezone": "UTC"},
        )
        coach_id = coach.json()["id"]
        weekly = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in WEEKDAYS]
        await client.put(
            f"/v1/coaches/{coach_id}/availability", json={"weekly": weekly, "overrides": []}
        )
        coach_ids.append(coach_id)
    ids = []
    for n, coach_id in enumerate(coach_ids):
        coachee = await client.post(
            "/v1/coachees",
            json={
                "name": f"Coachee {n}",
                "email": f"e{n}@example.com",
                "timezone": "UTC",
                "program_id": program.json()["id"],
                "coach_id": coach_id,
            },
        )
        ids.append(coachee.json()["id"])
    return ids


async def _load(
    seconds: float, concurrency: int, request: Callable[[int, int], Awaitable[int]]
) -> tuple[int, list[float], dict[int, int]]:
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def user(worker: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status = await request(worker, n)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            n += 1

    await asyncio.gather(*(user(worker) for worker in range(concurrency)))
    return len(latencies), latencies, statuses


def _report(name: str, seconds: float, result: tuple[int, list[float], dict[int, int]]) -> None:
    count, latencies, statuses = result
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    print(  # noqa: T201
        f"{name:<14} {count / seconds:8.1f} req/s   p50 {cuts[49] * 1000:6.1f} ms   "
        f"p99 {cuts[98] * 1000:6.1f} ms   statuses {statuses}"
    )


async def _run(args: argparse.Namespace, base_url: str, secret: str) -> None:
    headers = {"Authorization": f"Bearer {_token(secret)}"}
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits) as client:
        for _ in range(100):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        coachees = await _seed(client, args.concurrency)
        created: list[str] = []
        first_day = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)

        async def book(worker: int, n: int) -> int:
            # Each worker books its own coachee, day after day: no lock waits, no refusals.
            starts_at = first_day + timedelta(days=n)
            response = await client.post(
                "/v1/sessions",
                json={"coachee_id": coachees[worker], "starts_at": starts_at.isoformat()},
            )
            if response.status_code == 201:
                created.append(response.json()["id"])
            return response.status_code

        _report("POST sessions", args.seconds, await _load(args.seconds, args.concurrency, book))

        async def read(worker: int, n: int) -> int:
            session_id = created[(worker * 7919 + n) % len(created)]
            return (await client.get(f"/v1/sessions/{session_id}")).status_code

        _report("GET session", args.seconds, await _load(args.seconds, args.concurrency, read))
        await _race(client, coachees)


async def _race(client: httpx.AsyncClient, coachees: list[str]) -> None:
    """40 simultaneous bookings into one month with 2 places, spread over the workers."""
    program = await client.post("/v1/programs", json={"name": "Race", "sessions_per_month": 2})
    first = (await client.get(f"/v1/coachees/{coachees[0]}")).json()
    racer = await client.post(
        "/v1/coachees",
        json={
            "name": "Racer",
            "email": "racer@example.com",
            "timezone": "UTC",
            "program_id": program.json()["id"],
            "coach_id": first["coach_id"],
        },
    )
    month = (datetime.now(UTC) + timedelta(days=400)).strftime("%Y-%m")
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/sessions",
                json={
                    "coachee_id": racer.json()["id"],
                    "starts_at": f"{month}-{1 + n % 28:02d}T{n // 28 + 8:02d}:00:00+00:00",
                },
            )
            for n in range(40)
        )
    )
    outcome: dict[int, int] = {}
    for response in responses:
        outcome[response.status_code] = outcome.get(response.status_code, 0) + 1
    print(f"race           40 bookings into a 2-a-month month -> {outcome}")  # noqa: T201


async def _raw_asyncpg(seconds: float, concurrency: int) -> None:
    pool = await asyncpg.create_pool(POSTGRES, min_size=concurrency, max_size=concurrency)
    try:

        async def one(_worker: int, _n: int) -> int:
            await pool.fetchval("SELECT 1")
            return 200

        _report("asyncpg SELECT1", seconds, await _load(seconds, concurrency, one))
    finally:
        await pool.close()


def main() -> None:
    """Run the benchmark described in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    secret = secrets.token_urlsafe(48)
    port = _free_port()
    scratch = tempfile.mkdtemp(prefix="session-api-bench-")
    name = f"session_api_bench_{uuid.uuid4().hex[:10]}"
    if args.database == "postgresql":
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    else:
        url = f"sqlite+aiosqlite:///{scratch}/bench.sqlite3"
    env = {**os.environ, "SESSION_API_DATABASE_URL": url, "SESSION_API_JWT_SECRET": secret}
    cli = str(Path(sys.executable).with_name("session-api"))
    server = None
    try:
        subprocess.run([cli, "migrate"], env=env, check=True, capture_output=True)  # noqa: S603
        server = subprocess.Popen(  # noqa: S603
            [cli, "serve", "--port", str(port), "--workers", str(args.workers)],
            env={**env, "UVICORN_LOG_LEVEL": "warning"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        print(  # noqa: T201
            f"{args.database}, {args.workers} worker(s), {args.concurrency} concurrent, "
            f"{args.seconds:.0f} s each"
        )
        asyncio.run(_run(args, f"http://127.0.0.1:{port}", secret))
        if args.database == "postgresql":
            asyncio.run(_raw_asyncpg(args.seconds, args.concurrency))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if args.database == "postgresql":
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
