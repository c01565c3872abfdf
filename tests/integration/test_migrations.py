"""Alembic's migrations build exactly the schema the models declare, on every backend."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.db import migrations
from session_api.db.models import Base, programs
from session_api.domain.booking import MAX_SESSION_MINUTES, MIN_SESSION_MINUTES


async def test_models_and_migrations_agree(engine: AsyncEngine, database_url: str) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []
    assert await migrations.current_revision(engine) == migrations.head_revision(database_url)


async def test_the_database_bounds_session_minutes_like_the_domain(engine: AsyncEngine) -> None:
    """The CHECK the migrations created holds at the domain's bounds, and refuses beyond."""

    async def stores(minutes: int) -> bool:
        values = {"name": "Bounds", "sessions_per_month": 2, "session_minutes": minutes}
        async with engine.connect() as connection:
            try:
                await connection.execute(insert(programs).values(values))
            except IntegrityError:
                return False
            finally:
                await connection.rollback()
        return True

    assert await stores(MIN_SESSION_MINUTES)
    assert await stores(MAX_SESSION_MINUTES)
    assert not await stores(MIN_SESSION_MINUTES - 1)
    assert not await stores(MAX_SESSION_MINUTES + 1)
