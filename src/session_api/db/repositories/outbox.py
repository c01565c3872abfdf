"""The relay's queries: claim events, fan them out, publish them to the feed, lease deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from session_api.db.models import deliveries, events, sessions
from session_api.db.repositories.base import Repository, typed

# Any constant will do: it names the lock that hands out feed positions one relay at a time.
FEED_LOCK_KEY = 0x5E55_1011_FEED


@dataclass(frozen=True)
class StoredEvent:
    """An event as written: its public id, type, whom it concerns, when, and its data."""

    event_id: uuid.UUID
    type: str
    session_id: uuid.UUID | None
    coachee_id: uuid.UUID
    occurred_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class ClaimedEvent(StoredEvent):
    """An event claimed for fan-out, with its session's coach (None for month events)."""

    id: int
    coach_id: uuid.UUID | None


@dataclass(frozen=True)
class PublishedEvent(StoredEvent):
    """An event in the feed, at its feed position."""

    feed_position: int


@dataclass(frozen=True)
class NewDelivery:
    """One delivery to create: pending, not yet attempted, due at `next_attempt_at`."""

    event_id: int
    channel: str
    destination: str
    next_attempt_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class DueDelivery:
    """A leased delivery with the event it carries; `attempts` counts those before this lease."""

    id: int
    channel: str
    destination: str
    attempts: int
    created_at: datetime
    event: StoredEvent


@dataclass(frozen=True)
class DeliveryOutcome:
    """The result of one attempt: the delivery's new state.

    `attempts` is the count the lease left (this attempt included); a result for an older
    lease does not land.
    """

    id: int
    attempts: int
    state: str
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


class OutboxRepository(Repository):
    """Queries of the events and deliveries tables on behalf of the relay and the feed."""

    table = events

    async def claim_undispatched(self, limit: int) -> list[ClaimedEvent]:
        """The oldest events not yet fanned out, locked; other relays skip them.

        Each row carries the session's coach (null for month events): the fan-out needs it.
        """
        query = (
            select(
                events.c.id,
                events.c.event_id,
                events.c.type,
                events.c.session_id,
                events.c.coachee_id,
                events.c.occurred_at,
                events.c.data,
                sessions.c.coach_id,
            )
            .select_from(events.outerjoin(sessions, sessions.c.id == events.c.session_id))
            .where(events.c.dispatched_at.is_(None))
            .order_by(events.c.id)
            .limit(limit)
            .with_for_update(of=events, skip_locked=True)
        )
        return [typed(ClaimedEvent, row) for row in await self._connection.execute(query)]

    async def add_deliveries(self, rows: Sequence[NewDelivery]) -> None:
        """Insert pending deliveries in one statement."""
        if rows:
            await self._connection.execute(insert(deliveries), [asdict(row) for row in rows])

    async def publish(self, event_ids: Sequence[int], now: datetime) -> None:
        """Mark events dispatched and give them the next feed positions, in this order.

        Positions are handed out under one lock held until commit, so they rise in commit
        order: a feed reader that has seen position p will never later find a smaller one.
        """
        if not event_ids:
            return
        if self._connection.dialect.name == "postgresql":
            await self._connection.execute(select(func.pg_advisory_xact_lock(FEED_LOCK_KEY)))
        # On SQLite the transaction already holds the database's single write lock.
        last = (
            await self._connection.execute(
                select(func.coalesce(func.max(events.c.feed_position), 0))
            )
        ).scalar_one()
        query = (
            update(events)
            .where(events.c.id == bindparam("b_id"))
            .values(feed_position=bindparam("b_position"), dispatched_at=now)
        )
        await self._connection.execute(
            query,
            [{"b_id": id_, "b_position": last + n} for n, id_ in enumerate(event_ids, start=1)],
        )

    async def feed(self, *, after: int, limit: int) -> list[PublishedEvent]:
        """Published events after a feed position, in feed order."""
        query = (
            select(events)
            .where(events.c.feed_position > after)
            .order_by(events.c.feed_position)
            .limit(limit)
        )
        return [typed(PublishedEvent, row) for row in await self._connection.execute(query)]

    async def claim_due(
        self, *, now: datetime, limit: int, lease_until: datetime
    ) -> list[DueDelivery]:
        """Lease the deliveries that are due: counted as an attempt and hidden until the lease ends.

        Rows carry their event. The lease (not a held transaction) keeps other relays away
        while this one sends; if it dies, the lease runs out and the delivery is sent again.
        """
        query = (
            select(
                deliveries.c.id,
                deliveries.c.channel,
                deliveries.c.destination,
                deliveries.c.attempts,
                deliveries.c.created_at,
                events.c.event_id,
                events.c.type,
                events.c.session_id,
                events.c.coachee_id,
                events.c.occurred_at,
                events.c.data,
            )
            .join(events, events.c.id == deliveries.c.event_id)
            .where(deliveries.c.state == "pending", deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
            .with_for_update(of=deliveries, skip_locked=True)
        )
        rows = [
            typed(DueDelivery, row, event=typed(StoredEvent, row))
            for row in await self._connection.execute(query)
        ]
        if rows:
            await self._connection.execute(
                update(deliveries)
                .where(deliveries.c.id.in_([row.id for row in rows]))
                .values(
                    attempts=deliveries.c.attempts + 1,
                    next_attempt_at=lease_until,
                    last_attempt_at=now,
                )
            )
        return rows

    async def settle(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        """Record attempts' results.

        A result only lands while the delivery is still pending at the attempt that was
        claimed: a relay whose lease ran out cannot overwrite a later relay's result.
        """
        if not outcomes:
            return
        query = (
            update(deliveries)
            .where(
                deliveries.c.id == bindparam("b_id"),
                deliveries.c.attempts == bindparam("b_attempts"),
                deliveries.c.state == "pending",
            )
            .values(
                state=bindparam("b_state"),
                next_attempt_at=bindparam("b_next_attempt_at"),
                last_error=bindparam("b_last_error"),
                delivered_at=bindparam("b_delivered_at"),
            )
        )
        await self._connection.execute(
            query, [{f"b_{name}": value for name, value in asdict(o).items()} for o in outcomes]
        )

    async def fail_pending_webhooks(self, subscription_id: str, reason: str) -> None:
        """Give up every pending delivery to one webhook subscription."""
        await self._connection.execute(
            update(deliveries)
            .where(
                deliveries.c.channel == "webhook",
                deliveries.c.destination == subscription_id,
                deliveries.c.state == "pending",
            )
            .values(state="failed", last_error=reason)
        )
