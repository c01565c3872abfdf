"""An idempotent write's change and its stored answer commit together, or neither does.

Faults are real database failures where they can be: a trigger that refuses the UPDATE storing
an answer (both databases), and on PostgreSQL a deferred constraint trigger that refuses the
COMMIT itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.api.schemas.programs import ProgramRead
from session_api.db.models import events, idempotency_records, programs, sessions
from session_api.db.repositories.idempotency import IdempotencyRepository
from tests.scheduling_support import open_all_week
from tests.support import Factory, auth, refusing_answers, refusing_commits

PROGRAM = {"name": "Once", "sessions_per_month": 2}


async def _count(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as connection:
        counted = await connection.scalar(select(func.count()).select_from(table))
    return int(counted or 0)


async def _key_status(engine: AsyncEngine, key: str) -> int | None:
    """The stored status of a key (0 while its request runs), None when it is free."""
    async with engine.connect() as connection:
        status: int | None = await connection.scalar(
            select(idempotency_records.c.status_code).where(idempotency_records.c.key == key)
        )
    return status


def _problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


async def test_an_answer_that_cannot_be_stored_undoes_the_change(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    headers = {**auth(), "Idempotency-Key": "hiccup"}
    async with refusing_answers(engine):
        failed = await client.post("/v1/programs", json=PROGRAM, headers=headers)
        assert await _count(engine, programs) == 0
    # The client is told the change did not happen, and it did not: the key is free again.
    _problem(failed, 503, "service_unavailable")
    assert failed.headers["retry-after"] == "1"
    assert await _key_status(engine, "hiccup") is None

    retry = await client.post("/v1/programs", json=PROGRAM, headers=headers)
    replay = await client.post("/v1/programs", json=PROGRAM, headers=headers)
    assert retry.status_code == replay.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == retry.json()["id"]
    assert await _count(engine, programs) == 1


async def test_a_booking_whose_answer_is_lost_leaves_no_session_and_no_event(
    client: httpx.AsyncClient, engine: AsyncEngine, factory: Factory
) -> None:
    coach = await factory.coach()
    await open_all_week(factory, coach["id"])
    coachee = await factory.coachee(coach=coach)
    body = {"coachee_id": coachee["id"], "starts_at": "2026-12-03T10:00:00+01:00"}
    headers = {**auth(), "Idempotency-Key": "book-once"}
    async with refusing_answers(engine):
        failed = await client.post("/v1/sessions", json=body, headers=headers)
    _problem(failed, 503, "service_unavailable")
    assert await _count(engine, sessions) == 0
    assert await _count(engine, events) == 0

    booked = await client.post("/v1/sessions", json=body, headers=headers)
    assert booked.status_code == 201, booked.text
    assert await _count(engine, sessions) == 1
    # One `session.scheduled` event (the outbox row commits with the session and the answer).
    assert await _count(engine, events) == 1


@pytest.mark.postgresql  # a deferred constraint trigger (a failing COMMIT) is PostgreSQL's
async def test_a_commit_that_fails_is_answered_503_and_changes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    headers = {**auth(), "Idempotency-Key": "commit-refused"}
    async with refusing_commits(engine):
        failed = await client.post("/v1/programs", json=PROGRAM, headers=headers)
    _problem(failed, 503, "service_unavailable")
    assert await _count(engine, programs) == 0
    assert await _key_status(engine, "commit-refused") is None

    retry = await client.post("/v1/programs", json=PROGRAM, headers=headers)
    assert retry.status_code == 201
    assert await _count(engine, programs) == 1


async def test_the_change_and_its_answer_become_visible_together(
    client: httpx.AsyncClient, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What another connection sees just before the answer is stored, and once it is.
    seen: list[tuple[int, int | None]] = []
    store = IdempotencyRepository.answer

    async def observed(self: IdempotencyRepository, *args: Any) -> None:
        seen.append((await _count(engine, programs), await _key_status(engine, "seen")))
        await store(self, *args)
        seen.append((await _count(engine, programs), await _key_status(engine, "seen")))

    monkeypatch.setattr(IdempotencyRepository, "answer", observed)
    response = await client.post(
        "/v1/programs", json=PROGRAM, headers={**auth(), "Idempotency-Key": "seen"}
    )
    assert response.status_code == 201
    # Neither the program nor the answer shows until both commit, in one transaction.
    assert seen == [(0, 0), (0, 0)]
    assert (await _count(engine, programs), await _key_status(engine, "seen")) == (1, 201)


@pytest.fixture
async def unraising_client(
    app: FastAPI, client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """A client that receives the 500 answer of an unexpected error instead of the error."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_a_failure_after_the_change_undoes_it_and_frees_the_key(
    unraising_client: httpx.AsyncClient, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> ProgramRead:
        raise RuntimeError("the answer cannot be built")

    headers = {**auth(), "Idempotency-Key": "broken-answer"}
    with monkeypatch.context() as patched:
        patched.setattr(ProgramRead, "model_validate", broken)
        failed = await unraising_client.post("/v1/programs", json=PROGRAM, headers=headers)
    assert failed.status_code == 500
    assert await _count(engine, programs) == 0
    assert await _key_status(engine, "broken-answer") is None

    retry = await unraising_client.post("/v1/programs", json=PROGRAM, headers=headers)
    assert retry.status_code == 201
    assert await _count(engine, programs) == 1
