"""Webhook subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, null, select, update

from session_api.db.models import deliveries, events, webhook_subscriptions
from session_api.db.repositories.base import UNSET, NewValue, TableRepository, typed


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook subscription as stored: what the relay reads to decide and sign what it sends."""

    id: uuid.UUID
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    event_types: list[str] | None
    active: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NewWebhook:
    """A subscription to create, with its first signing secret."""

    url: str
    secret: str
    event_types: list[str] | None
    created_at: datetime
    updated_at: datetime
    active: bool = True


@dataclass(frozen=True)
class WebhookChanges:
    """A subscription's new target, event types or state; a field left `UNSET` stays."""

    url: NewValue[str] = UNSET
    event_types: NewValue[list[str] | None] = UNSET
    active: NewValue[bool] = UNSET
    disabled_reason: NewValue[str | None] = UNSET
    updated_at: NewValue[datetime] = UNSET


@dataclass(frozen=True)
class WebhookDelivery:
    """One delivery to a subscription, with the event it carries."""

    id: int
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime
    delivered_at: datetime | None
    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime


class WebhookRepository(TableRepository[WebhookTarget, NewWebhook, WebhookChanges]):
    """Queries of the webhook_subscriptions table."""

    table = webhook_subscriptions
    record = WebhookTarget

    async def active(self) -> list[WebhookTarget]:
        """The subscriptions that receive new events."""
        query = (
            select(webhook_subscriptions)
            .where(webhook_subscriptions.c.active.is_(True))
            .order_by(webhook_subscriptions.c.id)
        )
        return [typed(WebhookTarget, row) for row in await self._connection.execute(query)]

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, WebhookTarget]:
        """Subscriptions by id (missing ones were deleted)."""
        if not ids:
            return {}
        query = select(webhook_subscriptions).where(webhook_subscriptions.c.id.in_(ids))
        return {row.id: typed(WebhookTarget, row) for row in await self._connection.execute(query)}

    async def rotate_secret(
        self, id_: uuid.UUID, secret: str, *, previous_expires_at: datetime | None, now: datetime
    ) -> WebhookTarget | None:
        """Replace the secret; the one it replaces stays valid until `previous_expires_at`.

        One statement: the old value is read and moved by the update itself, so two
        rotations at once cannot both keep the same old secret.
        """
        keeps_previous = previous_expires_at is not None
        query = (
            update(webhook_subscriptions)
            .where(webhook_subscriptions.c.id == id_)
            .values(
                secret=secret,
                previous_secret=webhook_subscriptions.c.secret if keeps_previous else null(),
                previous_secret_expires_at=previous_expires_at,
                updated_at=now,
            )
            .returning(*webhook_subscriptions.c)
        )
        row = (await self._connection.execute(query)).one_or_none()
        return None if row is None else typed(WebhookTarget, row)

    async def remove(self, id_: uuid.UUID) -> bool:
        """Delete a subscription; whether it existed."""
        result = await self._connection.execute(
            delete(webhook_subscriptions).where(webhook_subscriptions.c.id == id_)
        )
        return bool(result.rowcount)

    async def deliveries(
        self,
        subscription_id: uuid.UUID,
        *,
        before: int | None,
        limit: int,
        state: str | None = None,
    ) -> list[WebhookDelivery]:
        """Up to `limit + 1` of a subscription's deliveries, newest first, with their event.

        `before` is the last delivery id of the previous page. The index on
        (channel, destination, id) serves this without a sort.
        """
        query = (
            select(
                deliveries.c.id,
                deliveries.c.state.label("status"),
                deliveries.c.attempts,
                deliveries.c.last_error,
                deliveries.c.created_at,
                deliveries.c.last_attempt_at,
                deliveries.c.next_attempt_at,
                deliveries.c.delivered_at,
                events.c.event_id,
                events.c.type.label("event_type"),
                events.c.occurred_at,
            )
            .join(events, events.c.id == deliveries.c.event_id)
            .where(
                deliveries.c.channel == "webhook",
                deliveries.c.destination == str(subscription_id),
            )
            .order_by(deliveries.c.id.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(deliveries.c.id < before)
        if state is not None:
            query = query.where(deliveries.c.state == state)
        return [typed(WebhookDelivery, row) for row in await self._connection.execute(query)]
