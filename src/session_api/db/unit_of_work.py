"""One transaction per use case: it rolls back unless the service commits it."""

from __future__ import annotations

import logging
from functools import cached_property
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from session_api.db.engine import SQLITE_BEGIN
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

    async def __aenter__(self) -> Self:
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
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            self._connection = connection
            return self
        try:
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
        """Make the use case's changes durable; called once, before the response is built."""
        await self.connection.commit()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection = self.connection
        self._connection = None
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            await connection.close()
