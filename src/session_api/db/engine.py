"""Engine construction: SQLite gets WAL, a busy timeout and `BEGIN IMMEDIATE` for writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

# Execution option naming how a SQLite transaction begins: "IMMEDIATE" takes the write lock at
# once, so a quota check and the write after it can never interleave with another writer.
SQLITE_BEGIN = "session_api_sqlite_begin"
# The isolation level of reads on PostgreSQL: no BEGIN or ROLLBACK round trips.
AUTOCOMMIT = "AUTOCOMMIT"
SQLITE_BUSY_TIMEOUT_MS = 15_000


POOL_TIMEOUT_SECONDS = 10


def build_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    """Build the engine for a database URL; SQLite is tuned for concurrent writers."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _tune_sqlite(engine)
        return engine
    # No overflow: connections opened past the pool are closed again at once, and under load
    # that churn (a new PostgreSQL connection per request) costs more than a short wait.
    # A request that waits longer than the timeout answers 503 `service_unavailable`.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_recycle=1800,
    )


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Hand transaction control to the "begin" hook below instead of the driver's guesswork.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial query."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
