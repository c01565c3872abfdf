"""Tables, declared with SQLAlchemy 2.0 `Mapped[]`; queried through Core in the repositories."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from session_api.domain.availability import Availability, availability_to_json
from session_api.domain.booking import MAX_SESSION_MINUTES, MIN_SESSION_MINUTES

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that only ever holds UTC instants; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes never reach the database")
        value = value.astimezone(UTC)
        # SQLite stores text: drop the offset so every row compares as the same UTC format.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # asyncpg answers in UTC already
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], datetime | None] | None:
        """None on asyncpg, which decodes `timestamptz` as UTC instants: a page of sessions
        then reads five instants a row without a Python call each."""
        if dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)


OPEN_SESSION = "status IN ('requested', 'scheduled')"
# No session lasts longer than MAX_SESSION_MINUTES: the overlap check relies on it to scan a
# person's sessions from `starts_at - MAX_SESSION_MINUTES` on, not their whole history. SQLite
# keeps instants as text, compared through julianday(), a float: its rounding (about a
# microsecond of a minute) is what the 0.00001 minutes leave.
SESSION_LENGTH_CHECKS = {
    "postgresql": f"ends_at <= starts_at + interval '{MAX_SESSION_MINUTES} minutes'",
    "sqlite": f"(julianday(ends_at) - julianday(starts_at)) * 1440 <= {MAX_SESSION_MINUTES}.00001",
}

# Portable big integer primary key: SQLite only autoincrements INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Base of all tables, with constraint names both databases agree on."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


def _now() -> datetime:
    return datetime.now(UTC)


def _no_availability() -> dict[str, Any]:
    return dict(availability_to_json(Availability.empty()))


class Timestamps:
    """Creation and last-change instants."""

    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)


class Program(Timestamps, Base):
    """A coaching program: how many sessions a month, how long, between which dates."""

    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint("sessions_per_month BETWEEN 1 AND 31", name="sessions_per_month"),
        CheckConstraint(
            f"session_minutes BETWEEN {MIN_SESSION_MINUTES} AND {MAX_SESSION_MINUTES}",
            name="session_minutes",
        ),
        CheckConstraint("late_cancel_hours >= 0", name="late_cancel_hours"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    sessions_per_month: Mapped[int] = mapped_column(Integer)
    session_minutes: Mapped[int] = mapped_column(Integer, default=60)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    late_cancel_hours: Mapped[int] = mapped_column(Integer, default=0)
    # Lead times of the reminders before each session, in hours, ascending (none by default).
    reminder_hours: Mapped[list[int]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )


class Coach(Timestamps, Base):
    """A coach, with weekly availability and date overrides kept as one JSON document."""

    __tablename__ = "coaches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    timezone: Mapped[str] = mapped_column(String(64))
    # A new coach has no windows until their availability is put.
    availability: Mapped[dict[str, Any]] = mapped_column(JSON, default=_no_availability)
    # The SHA-256 (hex) of the secret in the coach's calendar subscription URL (calendar apps
    # send no tokens); the key itself is shown once and never stored.
    calendar_key_sha256: Mapped[str | None] = mapped_column(String(64))


class Coachee(Timestamps, Base):
    """A person being coached, enrolled in one program with one coach."""

    __tablename__ = "coachees"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'paused', 'ended')", name="status"),
        Index(None, "coach_id", "status", "name"),
        # The usage report, keyset paged by (name, id): everyone's, and one coach's.
        Index(None, "name", "id"),
        Index(None, "coach_id", "name", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    timezone: Mapped[str] = mapped_column(String(64))
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programs.id"), index=True)
    coach_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coaches.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")


class Session(Timestamps, Base):
    """One coaching session; `month` is its calendar month in the coachee's time zone."""

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('requested', 'scheduled', 'completed', 'no_show', "
            "'late_cancelled', 'cancelled')",
            name="status",
        ),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        *(
            CheckConstraint(check, name="length").ddl_if(dialect=dialect)
            for dialect, check in SESSION_LENGTH_CHECKS.items()
        ),
        # Monthly usage and "Session N of M": the sessions of one coachee in one month, in order.
        Index(None, "coachee_id", "month", "starts_at", "id"),
        # Coach views, calendars and the coach's overlap check.
        Index(None, "coach_id", "starts_at", "id"),
        # The coachee's overlap check and next session.
        Index(None, "coachee_id", "starts_at"),
        # The all-future view, keyset paged by (starts_at, id).
        Index(None, "starts_at", "id"),
        # The reminder pass: open sessions starting within a lead time, without the rest.
        Index(
            "ix_sessions_open_starts_at",
            "starts_at",
            "id",
            postgresql_where=text(OPEN_SESSION),
            sqlite_where=text(OPEN_SESSION),
        ),
        # The unmarked view walks scheduled sessions only, never the marked history.
        Index(
            "ix_sessions_scheduled_coach_id_starts_at_id",
            "coach_id",
            "starts_at",
            "id",
            postgresql_where=text("status = 'scheduled'"),
            sqlite_where=text("status = 'scheduled'"),
        ),
        Index(
            "ix_sessions_scheduled_starts_at_id",
            "starts_at",
            "id",
            postgresql_where=text("status = 'scheduled'"),
            sqlite_where=text("status = 'scheduled'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    coachee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coachees.id"))
    coach_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coaches.id"))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    month: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancel_message: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The iCalendar SEQUENCE: rises on every reschedule and cancel.
    sequence: Mapped[int] = mapped_column(Integer, default=0)


class Reminder(Base):
    """A reminder that came, once per session, lead time and start: sent or skipped.

    The unique key is what makes a reminder go out once across any number of workers; a
    reschedule gives the session a new start and so a new key.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("session_id", "lead_hours", "starts_at"),
        CheckConstraint("outcome IN ('sent', 'skipped')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id"))
    lead_hours: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column()
    # `sent`: its `session.reminder_due` event is in the outbox; `skipped`: it came too late.
    outcome: Mapped[str] = mapped_column(String(16))
    planned_at: Mapped[datetime] = mapped_column()


class SessionHistory(Base):
    """Who changed a session, when, from what to what."""

    __tablename__ = "session_history"
    __table_args__ = (Index(None, "session_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id"))
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    from_starts_at: Mapped[datetime | None] = mapped_column()
    from_ends_at: Mapped[datetime | None] = mapped_column()
    to_starts_at: Mapped[datetime | None] = mapped_column()
    to_ends_at: Mapped[datetime | None] = mapped_column()
    message: Mapped[str | None] = mapped_column(Text)
    override_availability: Mapped[bool] = mapped_column(Boolean, default=False)


class Event(Base):
    """A domain event, written in the same transaction as the change (the outbox)."""

    __tablename__ = "events"
    __table_args__ = (
        # No index on session_id: nothing looks events up by session (the relay joins them to
        # their sessions by the sessions' key), and on a grown outbox it cost every write's
        # event insert about 35 us of PostgreSQL's CPU and a full-page image of WAL.
        # The relay's queue: only the events not yet fanned out, so it stays small.
        Index(
            "ix_events_undispatched",
            "id",
            postgresql_where=text("dispatched_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL"),
        ),
    )

    # The feed's order and cursor.
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # Stable id consumers deduplicate by (webhook-id, e-mail Message-ID).
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    coachee_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    occurred_at: Mapped[datetime] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Set by the relay when it fans the event out into deliveries, exactly once.
    dispatched_at: Mapped[datetime | None] = mapped_column()
    # The feed's order: handed out by the relay in commit order, so a poller never skips an
    # event whose id was taken before a larger one that committed first.
    feed_position: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class Delivery(Base):
    """One event's delivery to one destination (an e-mail recipient or a webhook)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'delivered', 'failed')", name="state"),
        Index(None, "state", "next_attempt_at"),
        # A subscription's deliveries, newest first (`GET /v1/webhooks/{id}/deliveries`).
        Index(None, "channel", "destination", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    # E-mail: "coach:<id>" or "coachee:<id>" (sent to their address at sending time);
    # webhook: the subscription's id.
    destination: Mapped[str] = mapped_column(String(400))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    # When the latest attempt was leased (its send began); null until the first attempt.
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    # Retries stop a bounded time after this.
    created_at: Mapped[datetime] = mapped_column(default=_now)


class WebhookSubscription(Timestamps, Base):
    """A URL that receives signed event payloads."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    # After a rotation the old secret signs too (alongside the new one) until it expires.
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column()
    event_types: Mapped[list[str] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class IdempotencyRecord(Base):
    """The first answer to a write request, replayed for retries with the same key."""

    __tablename__ = "idempotency_records"

    principal: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    response_headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=_now, index=True)


def table_of(model: type[Base]) -> Table:
    """A model's table, typed for Core queries."""
    return cast(Table, model.__table__)


programs = table_of(Program)
coaches = table_of(Coach)
coachees = table_of(Coachee)
sessions = table_of(Session)
session_history = table_of(SessionHistory)
events = table_of(Event)
deliveries = table_of(Delivery)
webhook_subscriptions = table_of(WebhookSubscription)
idempotency_records = table_of(IdempotencyRecord)
reminders = table_of(Reminder)
