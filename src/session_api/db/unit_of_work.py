"""One transaction per use case: it rolls back unless the service commits it.

Inside `deferred_commit()` (the idempotency middleware opens one around a keyed write), the
commit of a write is held back: its transaction stays open for the scope's owner, who adds the
stored answer and commits both at once. For the service, `commit()` stays the one commit
point: anything it does next sees its changes, because a unit of work that begins while one is
held commits the held one first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import cached_property
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from session_api.db import precompiled
from session_api.db.engine import AUTOCOMMIT, SQLITE_BEGIN
from session_api.db.repositories.calendars import CalendarRepository
from session_api.db.repositories.coachees import CoacheeRepository
from session_api.db.repositories.coaches import CoachRepository
from session_api.db.repositories.events import EventRepository
from session_api.db.repositories.idempotency import IdempotencyRepository
from session_api.db.repositories.outbox import OutboxRepository
from session_api.db.repositories.programs import ProgramRepository
from session_api.db.repositories.reminders import ReminderRepository
from session_api.db.repositories.reports import ReportRepository
from session_api.db.repositories.sessions import BookingRepository, SessionRepository
from session_api.db.repositories.views import ViewRepository
from session_api.db.repositories.webhooks import WebhookRepository
from session_api.errors import ServiceUnavailable

log = logging.getLogger("session_api.db")


class UnitOfWork:
    """A connection in one transaction, with the repositories that work inside it."""

    def __init__(self, engine: AsyncEngine, *, write: bool, snapshot: bool = False) -> None:
        self._engine = engine
        self._write = write
        self._snapshot = snapshot
        self._connection: AsyncConnection | None = None
        # Committed by the service but held open by a `DeferredCommit`, which ends it.
        self._held = False

    async def __aenter__(self) -> Self:
        deferred = _deferring()
        if deferred is not None:
            # Whatever this unit reads or writes must come after the held commit, and on
            # SQLite a second writer would wait for the held write lock.
            await deferred.flush()
        try:
            connection = await self._engine.connect()
        except (OSError, DBAPIError) as error:
            log.warning("database unreachable: %s: %s", type(error).__name__, error)
            raise ServiceUnavailable(
                "The database cannot be reached; retry in a moment."
            ) from error
        dialect = self._engine.dialect.name
        if self._write and dialect == "sqlite":
            connection = await connection.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        elif self._snapshot and dialect == "postgresql":
            # A long read (a streamed report) sees one snapshot, and a server-side cursor
            # needs a transaction to live in.
            connection = await connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        elif not self._write and dialect == "postgresql":
            # Reads need no BEGIN/ROLLBACK round trips; each statement sees committed data.
            # In AUTOCOMMIT a begin() is bookkeeping only, so it is left to the first statement.
            # `Context` opens reads on an engine that checks connections out in AUTOCOMMIT.
            if self._engine.get_execution_options().get("isolation_level") != AUTOCOMMIT:
                connection = await connection.execution_options(isolation_level=AUTOCOMMIT)
            self._connection = connection
            return self
        try:
            sync = connection.sync_connection
            if dialect == "postgresql" and sync is not None and not sync.dispatch.begin:
                # SQLAlchemy's asyncpg adapter sends BEGIN with the first statement, so on
                # PostgreSQL beginning is bookkeeping, without I/O unless a `begin` listener
                # does some: run in place, it saves a greenlet hop (about 16 us a write).
                sync.begin()
            else:
                await connection.begin()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        return self

    @property
    def connection(self) -> AsyncConnection:
        """The open connection."""
        assert self._connection is not None, "the unit of work is not entered"
        return self._connection

    # Repositories are built when first used: a read touches one or two of them, and
    # building all thirteen on every enter cost more than the read's own Python work.
    @cached_property
    def programs(self) -> ProgramRepository:
        """The programs repository, on this unit of work's connection."""
        return ProgramRepository(self.connection)

    @cached_property
    def coaches(self) -> CoachRepository:
        """The coaches repository, on this unit of work's connection."""
        return CoachRepository(self.connection)

    @cached_property
    def coachees(self) -> CoacheeRepository:
        """The coachees repository, on this unit of work's connection."""
        return CoacheeRepository(self.connection)

    @cached_property
    def sessions(self) -> SessionRepository:
        """The sessions repository, on this unit of work's connection."""
        return SessionRepository(self.connection)

    @cached_property
    def bookings(self) -> BookingRepository:
        """The bookings repository, on this unit of work's connection."""
        return BookingRepository(self.connection)

    @cached_property
    def events(self) -> EventRepository:
        """The events repository, on this unit of work's connection."""
        return EventRepository(self.connection)

    @cached_property
    def idempotency(self) -> IdempotencyRepository:
        """The idempotency repository, on this unit of work's connection."""
        return IdempotencyRepository(self.connection)

    @cached_property
    def outbox(self) -> OutboxRepository:
        """The outbox repository, on this unit of work's connection."""
        return OutboxRepository(self.connection)

    @cached_property
    def reminders(self) -> ReminderRepository:
        """The reminders repository, on this unit of work's connection."""
        return ReminderRepository(self.connection)

    @cached_property
    def webhooks(self) -> WebhookRepository:
        """The webhooks repository, on this unit of work's connection."""
        return WebhookRepository(self.connection)

    @cached_property
    def calendars(self) -> CalendarRepository:
        """The calendars repository, on this unit of work's connection."""
        return CalendarRepository(self.connection)

    @cached_property
    def views(self) -> ViewRepository:
        """The views repository, on this unit of work's connection."""
        return ViewRepository(self.connection)

    @cached_property
    def reports(self) -> ReportRepository:
        """The reports repository, on this unit of work's connection."""
        return ReportRepository(self.connection)

    async def commit(self) -> None:
        """Make the use case's changes durable; called once, before the response is built.

        Inside `deferred_commit()` a write's transaction is handed to the scope instead, which
        commits it (with what the scope's owner adds) before the response is sent.
        """
        deferred = _deferring()
        if self._write and deferred is not None:
            await deferred.hold(self)
            return
        await precompiled.commit(self.connection)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # A held unit is ended by its scope, which may have done so already (a flush).
        if not self._held and self._connection is not None:
            await self._end()

    async def _end(self) -> None:
        """Roll back what was not committed and give the connection back."""
        connection = self.connection
        self._connection = None
        self._held = False
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            await connection.close()


class DeferredCommit:
    """The write transaction of one request, committed by its service but held open."""

    def __init__(self) -> None:
        self._held: UnitOfWork | None = None
        self._open = True
        # Tasks started inside the request inherit the scope; only the request's own defers.
        self._task = asyncio.current_task()

    def deferring(self) -> bool:
        """Whether commits in the current task are held back by this scope."""
        return self._open and asyncio.current_task() is self._task

    async def hold(self, unit: UnitOfWork) -> None:
        """Keep a committed unit's transaction open for the scope's owner."""
        if self._held is unit:
            return
        await self.flush()
        unit._held = True
        self._held = unit

    async def flush(self) -> None:
        """Commit the held transaction now: something else is about to use the database."""
        held, self._held = self._held, None
        if held is not None:
            try:
                await held.connection.commit()
            finally:
                await held._end()

    def take(self) -> UnitOfWork | None:
        """Stop deferring and hand over the held unit, to add to and commit for real.

        It stays the scope's: when the scope ends it is rolled back, unless committed, and
        closed.
        """
        self._open = False
        return self._held

    async def _close(self) -> None:
        self._open = False
        held, self._held = self._held, None
        if held is not None:
            await held._end()


_deferred_commit: ContextVar[DeferredCommit | None] = ContextVar(
    "session_api_deferred_commit", default=None
)


def _deferring() -> DeferredCommit | None:
    deferred = _deferred_commit.get()
    return deferred if deferred is not None and deferred.deferring() else None


@asynccontextmanager
async def deferred_commit() -> AsyncIterator[DeferredCommit]:
    """Hold back the commit of the write that runs inside, for the caller to finish it."""
    deferred = DeferredCommit()
    token = _deferred_commit.set(deferred)
    try:
        yield deferred
    finally:
        _deferred_commit.reset(token)
        await deferred._close()
