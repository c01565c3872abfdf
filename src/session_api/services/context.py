"""What every use case gets: the database to open units of work on, and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.db.engine import AUTOCOMMIT
from session_api.db.unit_of_work import UnitOfWork


def utc_now() -> datetime:
    """The current instant in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    """The engine (built in the app's lifespan, never at import) and a replaceable clock."""

    engine: AsyncEngine
    clock: Callable[[], datetime] = field(default=utc_now)
    # Reads run in AUTOCOMMIT on PostgreSQL (`UnitOfWork`): through a view of the engine with
    # that level, sharing its pool, the level is set as a connection is checked out, where
    # setting it on the connection afterwards cost a second greenlet hop (about 10 us a read).
    _reads: AsyncEngine = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        reads = self.engine
        if self.engine.dialect.name == "postgresql":
            reads = self.engine.execution_options(isolation_level=AUTOCOMMIT)
        object.__setattr__(self, "_reads", reads)

    def reading(self) -> UnitOfWork:
        """A read-only unit of work."""
        return UnitOfWork(self._reads, write=False)

    def writing(self) -> UnitOfWork:
        """A unit of work that writes; on SQLite it holds the write lock from its first step."""
        return UnitOfWork(self.engine, write=True)

    def streaming(self) -> UnitOfWork:
        """A read-only unit of work that sees one snapshot throughout, for long streamed reads."""
        return UnitOfWork(self.engine, write=False, snapshot=True)

    def now(self) -> datetime:
        """The current instant, from the clock."""
        return self.clock()
