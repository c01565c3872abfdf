"""Alembic's migrations build exactly the schema the models declare, on every backend."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from alembic import command
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


def test_calendar_keys_are_kept_as_their_digests(tmp_path: Path) -> None:
    """0007 turns a stored key into its digest, so every calendar URL handed out keeps working."""
    path = tmp_path / "before-0007.sqlite3"
    config = migrations.alembic_config(f"sqlite+aiosqlite:///{path}")
    command.upgrade(config, "0006_webhooks")
    with closing(sqlite3.connect(path)) as database, database:
        database.execute(
            "INSERT INTO coaches (id, name, email, timezone, availability, calendar_key,"
            " created_at, updated_at) VALUES ('00000000000000000000000000000001', 'Ana',"
            " 'ana@example.com', 'UTC', '{}', 'the-old-key', '2026-12-01', '2026-12-01')"
        )

    command.upgrade(config, "head")

    with closing(sqlite3.connect(path)) as database:
        (digest,) = database.execute("SELECT calendar_key_sha256 FROM coaches").fetchone()
    assert digest == hashlib.sha256(b"the-old-key").hexdigest()
