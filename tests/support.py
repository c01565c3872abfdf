"""Test helpers: a settable clock, tokens and factories that go through the public API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
ADMIN = "admin"


@dataclass
class Clock:
    """The service's clock, set by each test."""

    instant: datetime = field(default_factory=lambda: datetime(2026, 11, 20, 12, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.instant


def token(
    role: str, sub: str = "ops", *, ttl: timedelta = timedelta(hours=1), **claims: Any
) -> str:
    """A token signed with the test secret."""
    now = datetime.now(UTC)
    body = {"sub": sub, "role": role, "iat": now, "exp": now + ttl, **claims}
    return jwt.encode(body, JWT_SECRET, algorithm="HS256")


def auth(role: str = ADMIN, sub: str | uuid.UUID = "ops") -> dict[str, str]:
    """Headers for a caller."""
    return {"Authorization": f"Bearer {token(role, str(sub))}"}


def as_coach(coach: dict[str, Any]) -> dict[str, str]:
    """Headers for a coach created by a factory."""
    return auth("coach", coach["id"])


def as_coachee(coachee: dict[str, Any]) -> dict[str, str]:
    """Headers for a coachee created by a factory."""
    return auth("coachee", coachee["id"])


def created(response: httpx.Response) -> dict[str, Any]:
    """The body of a 201, failing loudly with the problem otherwise."""
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class Factory:
    """Makes programs, coaches and coachees through the API, as an admin would."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def program(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Leadership", "sessions_per_month": 2, "session_minutes": 60, **fields}
        return created(await self.client.post("/v1/programs", json=body, headers=auth()))

    async def coach(self, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "Carla Coach",
            "email": f"carla-{uuid.uuid4().hex[:8]}@example.com",
            "timezone": "Europe/Berlin",
            **fields,
        }
        return created(await self.client.post("/v1/coaches", json=body, headers=auth()))

    async def coachee(
        self,
        *,
        program: dict[str, Any] | None = None,
        coach: dict[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        program = program or await self.program()
        coach = coach or await self.coach()
        body = {
            "name": "Maia",
            "email": f"maia-{uuid.uuid4().hex[:8]}@example.com",
            "timezone": "Europe/Berlin",
            "program_id": program["id"],
            "coach_id": coach["id"],
            **fields,
        }
        return created(await self.client.post("/v1/coachees", json=body, headers=auth()))


@contextmanager
def counting_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs (SQLite's BEGIN is none)."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        if not args[2].startswith("BEGIN"):
            statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@contextmanager
def statement_sent(engine: AsyncEngine, prefix: str) -> Iterator[asyncio.Event]:
    """An event that is set once the engine sends a statement starting with `prefix`.

    Awaiting it shows that a concurrent transaction has reached the database, not merely
    that it was scheduled, without sleeping and hoping.
    """
    sent = asyncio.Event()

    def record(*args: Any) -> None:
        if args[2].startswith(prefix):
            sent.set()

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


# Faults for the idempotency tests: the database itself refuses to store an answer (the UPDATE
# that gives a key its status), or (PostgreSQL) refuses the COMMIT of a transaction that
# stored one, with a deferred constraint trigger checked only then.
_REFUSE_ANSWERS = {
    "sqlite": (
        [
            "CREATE TRIGGER refuse_answers BEFORE UPDATE OF status_code ON idempotency_records "
            "WHEN NEW.status_code <> 0 BEGIN SELECT RAISE(ABORT, 'answers refused'); END"
        ],
        ["DROP TRIGGER refuse_answers"],
    ),
    "postgresql": (
        [
            "CREATE FUNCTION refuse_answers() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'answers refused'; END $$",
            "CREATE TRIGGER refuse_answers BEFORE UPDATE ON idempotency_records FOR EACH ROW "
            "WHEN (NEW.status_code <> 0) EXECUTE FUNCTION refuse_answers()",
        ],
        ["DROP TRIGGER refuse_answers ON idempotency_records", "DROP FUNCTION refuse_answers()"],
    ),
}
_REFUSE_COMMITS = (
    [
        "CREATE FUNCTION refuse_commits() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'commit refused'; END $$",
        "CREATE CONSTRAINT TRIGGER refuse_commits AFTER UPDATE ON idempotency_records "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status_code <> 0) "
        "EXECUTE FUNCTION refuse_commits()",
    ],
    ["DROP TRIGGER refuse_commits ON idempotency_records", "DROP FUNCTION refuse_commits()"],
)


@asynccontextmanager
async def _installed(
    engine: AsyncEngine, fault: tuple[Sequence[str], Sequence[str]]
) -> AsyncIterator[None]:
    install, remove = fault
    async with engine.begin() as connection:
        for statement in install:
            await connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        async with engine.begin() as connection:
            for statement in remove:
                await connection.exec_driver_sql(statement)


def refusing_answers(engine: AsyncEngine) -> AbstractAsyncContextManager[None]:
    """While the block runs, the database refuses to store any idempotency answer."""
    return _installed(engine, _REFUSE_ANSWERS[engine.dialect.name])


def refusing_commits(engine: AsyncEngine) -> AbstractAsyncContextManager[None]:
    """While the block runs, PostgreSQL refuses to commit a stored idempotency answer."""
    assert engine.dialect.name == "postgresql", "a deferred constraint trigger is PostgreSQL's"
    return _installed(engine, _REFUSE_COMMITS)
