"""One transaction per use case: it rolls back unless the service commits it."""

from __future__ import annotations

import logging
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

    programs: ProgramRepository
    coaches: CoachRepository
    coachees: CoacheeRepository
    sessions: SessionRepository
    bookings: BookingRepository
    events: EventRepository
    idempotency: IdempotencyRepository
    outbox: OutboxRepository
    reminders: ReminderRepository
    webhooks: WebhookRepository
    calendars: CalendarRepository
    views: ViewRepository
    reports: ReportRepository

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
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            await connection.begin()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self.programs = ProgramRepository(connection)
        self.coaches = CoachRepository(connection)
        self.coachees = CoacheeRepository(connection)
        self.sessions = SessionRepository(connection)
        self.bookings = BookingRepository(connection)
        self.events = EventRepository(connection)
        self.outbox = OutboxRepository(connection)
        self.reminders = ReminderRepository(connection)
        self.webhooks = WebhookRepository(connection)
        self.calendars = CalendarRepository(connection)
        self.views = ViewRepository(connection)
        self.reports = ReportRepository(connection)
        self.idempotency = IdempotencyRepository(connection)
        return self

    @property
    def connection(self) -> AsyncConnection:
        """The open connection."""
        assert self._connection is not None, "the unit of work is not entered"
        return self._connection

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
