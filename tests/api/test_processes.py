"""The monthly limit holds across real server processes sharing one database."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.scheduling_support import always_open_coachee
from tests.servers import live_server
from tests.support import Factory, auth

pytestmark = pytest.mark.slow


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    """`session-api serve --workers 2` on loopback, on the test database."""
    with live_server(database_url, workers=2) as running:
        yield running.url


def _days_of_next_month(count: int) -> list[datetime]:
    """10:00 UTC on the first `count` days of next month: ahead of the real clock the
    server runs on, all in one month."""
    first = (datetime.now(UTC).replace(day=1) + timedelta(days=32)).replace(
        day=1, hour=10, minute=0, second=0, microsecond=0
    )
    return [first + timedelta(days=n) for n in range(count)]


async def test_two_worker_processes_admit_exactly_the_free_places(
    server: str, factory: Factory
) -> None:
    coachee = await always_open_coachee(factory)
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=server, limits=limits, timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v1/sessions",
                    json={"coachee_id": coachee["id"], "starts_at": starts_at.isoformat()},
                    headers=auth(),
                )
                for starts_at in _days_of_next_month(20)
            )
        )
    assert Counter(response.status_code for response in responses) == {201: 2, 409: 18}
