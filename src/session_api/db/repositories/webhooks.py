"""Webhook subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select

from session_api.db.models import webhook_subscriptions
from session_api.db.repositories.base import AnyRow, Repository


class WebhookRepository(Repository):
    """Queries of the webhook_subscriptions table."""

    table = webhook_subscriptions

    async def active(self) -> Sequence[AnyRow]:
        """The subscriptions that receive new events."""
        query = (
            select(webhook_subscriptions)
            .where(webhook_subscriptions.c.active.is_(True))
            .order_by(webhook_subscriptions.c.id)
        )
        return (await self._connection.execute(query)).all()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AnyRow]:
        """Subscriptions by id (missing ones were deleted)."""
        if not ids:
            return {}
        query = select(webhook_subscriptions).where(webhook_subscriptions.c.id.in_(ids))
        return {row.id: row for row in await self._connection.execute(query)}

    async def remove(self, id_: uuid.UUID) -> bool:
        """Delete a subscription; whether it existed."""
        result = await self._connection.execute(
            delete(webhook_subscriptions).where(webhook_subscriptions.c.id == id_)
        )
        return bool(result.rowcount)
