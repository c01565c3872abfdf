"""Fixtures: one migrated database per backend (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from session_api.config import Settings
from session_api.db import migrations
from session_api.db.models import Base
from session_api.main import create_app
from session_api.services.context import Context
from tests.support import JWT_SECRET, Clock, Factory

POSTGRES_URL = os.environ.get("SESSION_API_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


async def _create_postgres_database(base_url: str, name: str, *, drop: bool = False) -> None:
    admin = create_async_engine(
        make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as connection:
            statement = (
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                if drop
                else f'CREATE DATABASE "{name}"'
            )
            await connection.exec_driver_sql(statement)
    finally:
        await admin.dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run a test marked `postgresql` only on the PostgreSQL backend (deselected, not skipped)."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_sqlite = callspec is not None and callspec.params.get("database_url") == "sqlite"
        (dropped if on_sqlite and item.get_closest_marker("postgresql") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A freshly migrated database of one backend, created for this test run only."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        migrations.upgrade(url)
        yield url
        return
    assert POSTGRES_URL is not None
    name = f"session_api_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_postgres_database(POSTGRES_URL, name))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        asyncio.run(_create_postgres_database(POSTGRES_URL, name, drop=True))


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    """Settings for the app under test."""
    return Settings(
        database_url=database_url,
        jwt_secret=JWT_SECRET,
        environment="test",
        # The tests' webhook receivers listen on loopback.
        webhook_allow_private_targets=True,
    )


@pytest.fixture(scope="session")
def clock() -> Clock:
    """The app's clock; tests set `clock.instant`."""
    return Clock()


@pytest.fixture(scope="session")
async def app(settings: Settings, clock: Clock) -> AsyncIterator[FastAPI]:
    """The app with its lifespan entered, once per backend."""
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def engine(app: FastAPI) -> AsyncEngine:
    """The app's engine."""
    context: Context = app.state.context
    return context.engine


@pytest.fixture
async def client(
    app: FastAPI, engine: AsyncEngine, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app; every table is emptied after the test."""
    clock.instant = Clock().instant
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(delete(table))


@pytest.fixture
def factory(client: httpx.AsyncClient) -> Factory:
    """Makes programs, coaches and coachees through the API."""
    return Factory(client)
