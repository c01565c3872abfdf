"""The monthly limit holds across real server processes sharing one database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scheduling_support import always_open_coachee
from tests.support import JWT_SECRET, Factory, auth


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    """`session-api serve --workers 2` on loopback, on the test database."""
    port = _free_port()
    env = {
        **os.environ,
        "SESSION_API_DATABASE_URL": database_url,
        "SESSION_API_JWT_SECRET": JWT_SECRET,
    }
    command = [str(Path(sys.executable).with_name("session-api")), "serve", "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [*command, "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url) as probe:
            # Up to a minute: two uvicorn workers start slowly on a busy machine.
            for _ in range(600):
                try:
                    if probe.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                pytest.fail("the server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


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
