"""Retries and hostile bodies against real server processes sharing one database."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.servers import LiveServer, live_server
from tests.support import auth, refusing_answers

BIG = 64 * 1024 * 1024
CHUNK = 256 * 1024
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[LiveServer]:
    """`session-api serve --workers 2` on the test database, shared by this module's tests."""
    with live_server(database_url, workers=2) as server:
        yield server


async def test_ten_concurrent_retries_across_two_processes_create_one_program(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    headers = {**auth(), "Idempotency-Key": "one-program"}
    body = {"name": "Raced", "sessions_per_month": 2}
    limits = httpx.Limits(max_connections=10)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as http:
        answers = await asyncio.gather(
            *(http.post("/v1/programs", json=body, headers=headers) for _ in range(10))
        )
        listed = await http.get("/v1/programs", headers=auth())
    assert [program["name"] for program in listed.json()["items"]] == ["Raced"]
    created = [answer for answer in answers if answer.status_code == 201]
    in_use = [answer for answer in answers if answer.status_code == 409]
    assert len(created) + len(in_use) == 10
    assert {answer.json()["id"] for answer in created} == {listed.json()["items"][0]["id"]}
    assert sum("idempotent-replayed" not in answer.headers for answer in created) == 1
    assert {answer.json()["code"] for answer in in_use} <= {"idempotency_key_in_use"}


async def test_an_immediate_retry_replays_and_creates_nothing_more(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    body = {"name": "Once", "sessions_per_month": 2}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        for attempt in range(5):
            headers = {**auth(), "Idempotency-Key": f"back-to-back-{attempt}"}
            first = await http.post("/v1/programs", json=body, headers=headers)
            again = await http.post("/v1/programs", json=body, headers=headers)
            assert first.status_code == again.status_code == 201
            assert again.headers["idempotent-replayed"] == "true"
            assert again.json() == first.json()
        listed = await http.get("/v1/programs", headers=auth())
    assert len(listed.json()["items"]) == 5


async def test_an_answer_lost_in_one_process_is_retried_once_across_both(
    server: LiveServer, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    headers = {**auth(), "Idempotency-Key": "answer-lost"}
    body = {"name": "Lost answer", "sessions_per_month": 2}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        async with refusing_answers(engine):
            failed = await http.post("/v1/programs", json=body, headers=headers)
            during = await http.get("/v1/programs", headers=auth())
        # Either process may take the retries; each finds the key free and then answered.
        retries = await asyncio.gather(
            *(http.post("/v1/programs", json=body, headers=headers) for _ in range(4))
        )
        listed = await http.get("/v1/programs", headers=auth())
    assert failed.status_code == 503, failed.text
    assert failed.json()["code"] == "service_unavailable"
    assert during.json()["items"] == []
    assert [program["name"] for program in listed.json()["items"]] == ["Lost answer"]
    created = [answer for answer in retries if answer.status_code == 201]
    assert {answer.json()["id"] for answer in created} == {listed.json()["items"][0]["id"]}
    assert sum("idempotent-replayed" not in answer.headers for answer in created) == 1
    assert all(answer.status_code in (201, 409) for answer in retries)


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


async def _stream(size: int) -> AsyncIterator[bytes]:
    chunk = b"[" * CHUNK
    for _ in range(size // CHUNK):
        yield chunk


async def test_memory_stays_bounded_under_huge_bodies(
    database_url: str, client: httpx.AsyncClient
) -> None:
    with live_server(database_url) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            await http.get("/v1/programs", headers=auth())
            before = _peak_rss_kib(server.pid)
            senders = [
                # Streamed (no Content-Length): refused once past the limit.
                *(
                    http.post("/v1/programs", content=_stream(BIG), headers=auth())
                    for _ in range(3)
                ),
                # Unauthenticated: refused before any of it is read.
                *(http.post("/v1/programs", content=_stream(BIG)) for _ in range(3)),
            ]
            answers = await asyncio.gather(*senders, return_exceptions=True)
            after = _peak_rss_kib(server.pid)
    statuses = Counter(
        answer.status_code if isinstance(answer, httpx.Response) else "closed" for answer in answers
    )
    # The server may close the connection while the client still writes; never a 2xx or 5xx.
    assert set(statuses) <= {413, 401, "closed"}, statuses
    assert statuses[413] + statuses[401] >= 1
    assert after - before < 48 * 1024, f"peak RSS grew by {(after - before) // 1024} MiB"


async def test_a_declared_large_body_is_refused_at_once(server: LiveServer) -> None:
    length = 2 * 1024 * 1024
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        answer = await http.post(
            "/v1/programs",
            content=b"{" + b" " * (length - 2) + b"}",
            headers={**auth(), "content-type": "application/json"},
        )
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"
