"""The monthly limit holds across real server processes sharing one database."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scheduling_support import always_open_coachee
from tests.servers import running_server
from tests.support import Factory, auth


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    """`session-api serve --workers 2` on loopback, on the test database."""
    with running_server(database_url, "--workers", "2") as url:
        yield url


async def test_two_worker_processes_admit_exactly_the_free_places(
    server: str, factory: Factory, engine: AsyncEngine
) -> None:
    coachee = await always_open_coachee(factory, engine)
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=server, limits=limits, timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v1/sessions",
                    json={
                        "coachee_id": coachee["id"],
                        "starts_at": f"2031-03-{n + 1:02d}T10:00:00+00:00",
                    },
                    headers=auth(),
                )
                for n in range(20)
            )
        )
    assert Counter(response.status_code for response in responses) == {201: 2, 409: 18}
