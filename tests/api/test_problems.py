"""Every failure is a problem+json; ordinary bad input never reaches the catch-all."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from session_api.config import Settings
from session_api.main import create_app
from tests.support import JWT_SECRET, auth


async def test_unexpected_failure_is_a_logged_500_problem(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app: FastAPI = create_app(Settings(jwt_secret=JWT_SECRET, environment="test"))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with caplog.at_level(logging.ERROR, logger="session_api"):
            response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "internal_error"
    assert "secret internals" not in response.text
    assert "secret internals" in caplog.text


async def test_wrong_method_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/programs", headers=auth())
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


# A PostgreSQL server nobody listens for, and a SQLite file in a folder that does not exist.
UNREACHABLE = [
    "postgresql+asyncpg://nobody@127.0.0.1:1/none",
    "sqlite+aiosqlite:////nonexistent-folder/session-api.sqlite3",
]


@pytest.mark.parametrize("database_url", UNREACHABLE)
async def test_readiness_reports_an_unreachable_database(database_url: str) -> None:
    settings = Settings(jwt_secret=JWT_SECRET, environment="test", database_url=database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"


@pytest.mark.parametrize("database_url", UNREACHABLE)
async def test_reads_and_writes_answer_503_while_the_database_is_unreachable(
    database_url: str,
) -> None:
    settings = Settings(jwt_secret=JWT_SECRET, environment="test", database_url=database_url)
    app = create_app(settings)
    body = {"name": "P", "sessions_per_month": 2}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            read = await client.get("/v1/programs", headers=auth())
            plain = await client.post("/v1/programs", json=body, headers=auth())
            keyed = await client.post(
                "/v1/programs", json=body, headers={**auth(), "Idempotency-Key": "k1"}
            )
    for response in (read, plain, keyed):
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable"
        assert response.headers["retry-after"] == "1"


async def test_a_connection_dropped_mid_request_is_a_503() -> None:
    app: FastAPI = create_app(Settings(jwt_secret=JWT_SECRET, environment="test"))

    @app.get("/dropped")
    async def dropped() -> None:
        raise ConnectionResetError("peer reset")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/dropped")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
