"""The app in this process, for the scripts that measure it without HTTP
(`benchmark_app.py`, `benchmark_instructions.py`, `benchmark_pg_writes.py`)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

import httpx
import jwt
from benchmark import SUBJECT, booked, bookings, cancellations, moves
from fastapi import FastAPI

from session_api.config import Settings
from session_api.main import create_app


def admin_app(dsn: str) -> tuple[FastAPI, str]:
    """The app on a (scratch) PostgreSQL database, and a bearer token of the benchmark's
    admin, the `created_by` that `benchmark.booked` looks for."""
    secret = secrets.token_urlsafe(48)
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    app = create_app(Settings(database_url=url, jwt_secret=secret, environment="test"))
    claims = {"sub": SUBJECT, "role": "admin", "exp": datetime.now(UTC) + timedelta(hours=1)}
    return app, jwt.encode(claims, secret, algorithm="HS256")


@asynccontextmanager
async def app_client(dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling the app through ASGI as the admin, the app's lifespan running."""
    app, token = admin_app(dsn)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://app", headers=headers
        ) as client,
    ):
        yield client


async def send(client: httpx.AsyncClient, name: str, line: str) -> None:
    """One of the benchmark's requests (method, path and body, tab-separated); anything but
    a success ends the measurement."""
    method, path, *body = line.split("\t")
    answer = await client.request(method, path, content=body[0] if body else None)
    if answer.status_code >= 300:
        raise SystemExit(f"{name}: {answer.status_code} {answer.text[:300]}")


async def writes(dsn: str, today: date, count: int) -> AsyncGenerator[tuple[str, list[str]], None]:
    """The writes' requests, `count` of each: schedule, reschedule, cancel. Reschedule and
    cancel act on the sessions schedule made: send its requests before asking for them."""
    yield "schedule", bookings(today, count)
    made = await booked(dsn)
    yield "reschedule", moves(made, count)
    yield "cancel", cancellations([id_ for id_, _, _ in made])
