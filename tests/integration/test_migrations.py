"""Alembic's migrations build exactly the schema the models declare, on every backend."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.db import migrations
from session_api.db.models import Base


async def test_models_and_migrations_agree(engine: AsyncEngine, database_url: str) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []
    assert await migrations.current_revision(engine) == migrations.head_revision(database_url)
