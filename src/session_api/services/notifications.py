"""Webhook subscriptions (admins) and the event feed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from session_api.auth import Principal
from session_api.db.repositories.base import UNSET
from session_api.db.repositories.outbox import PublishedEvent, StoredEvent
from session_api.db.repositories.webhooks import (
    NewWebhook,
    WebhookChanges,
    WebhookDelivery,
    WebhookTarget,
)
from session_api.errors import ValidationProblem
from session_api.notify.signing import generate_secret
from session_api.notify.targets import malformed_target_reason, private_host_reason
from session_api.notify.webhooks import PingOutcome, event_payload, send_ping
from session_api.services import access
from session_api.services.context import Context


def public_event(event: StoredEvent) -> dict[str, object]:
    """An outbox event as the feed lists it and webhooks receive it: one mapping for both."""
    return event_payload(
        event.event_id,
        event.type,
        event.session_id,
        event.coachee_id,
        event.occurred_at,
        event.data,
    )


async def events_after(
    ctx: Context, principal: Principal, *, after: int, limit: int
) -> list[PublishedEvent]:
    """Published events after a feed position, in feed order (admins)."""
    principal.require_admin()
    async with ctx.reading() as uow:
        return await uow.outbox.feed(after=after, limit=limit)


async def create_webhook(
    ctx: Context,
    principal: Principal,
    *,
    url: str,
    event_types: Sequence[str] | None,
    allow_private_targets: bool,
) -> WebhookTarget:
    """Subscribe a URL to events, with a new signing secret."""
    principal.require_admin()
    _ensure_allowed_target(url, allow_private_targets)
    now = ctx.now()
    async with ctx.writing() as uow:
        subscription = await uow.webhooks.add(
            NewWebhook(
                url=url,
                secret=generate_secret(),
                event_types=_distinct(event_types),
                created_at=now,
                updated_at=now,
            )
        )
        await uow.commit()
    return subscription


async def list_webhooks(
    ctx: Context, principal: Principal, *, after: uuid.UUID | None, limit: int
) -> Sequence[WebhookTarget]:
    """Subscriptions by id."""
    principal.require_admin()
    async with ctx.reading() as uow:
        return await uow.webhooks.page(after=after, limit=limit)


async def get_webhook(ctx: Context, principal: Principal, webhook_id: uuid.UUID) -> WebhookTarget:
    """One subscription."""
    principal.require_admin()
    async with ctx.reading() as uow:
        subscription = await uow.webhooks.get(webhook_id)
    if subscription is None:
        raise access.not_found("webhook", webhook_id)
    return subscription


async def update_webhook(
    ctx: Context,
    principal: Principal,
    webhook_id: uuid.UUID,
    changes: WebhookChanges,
    *,
    allow_private_targets: bool,
) -> WebhookTarget:
    """Change a subscription; re-activating it clears why it was disabled."""
    principal.require_admin()
    if changes.url is not UNSET:
        _ensure_allowed_target(changes.url, allow_private_targets)
    if changes.event_types is not UNSET:
        changes = replace(changes, event_types=_distinct(changes.event_types))
    if changes.active is True:
        changes = replace(changes, disabled_reason=None)
    elif changes.active is False:
        changes = replace(changes, disabled_reason=f"disabled by {principal.actor}")
    async with ctx.writing() as uow:
        subscription = await uow.webhooks.change(webhook_id, replace(changes, updated_at=ctx.now()))
        if subscription is None:
            raise access.not_found("webhook", webhook_id)
        await uow.commit()
    return subscription


async def rotate_webhook_secret(
    ctx: Context, principal: Principal, webhook_id: uuid.UUID, *, grace: timedelta
) -> WebhookTarget:
    """Give a subscription a new secret; the current one keeps signing during `grace`.

    Only one previous secret is kept: rotating again during a grace period ends the older
    secret's grace at once.
    """
    principal.require_admin()
    now = ctx.now()
    async with ctx.writing() as uow:
        subscription = await uow.webhooks.rotate_secret(
            webhook_id,
            generate_secret(),
            previous_expires_at=now + grace if grace > timedelta(0) else None,
            now=now,
        )
        if subscription is None:
            raise access.not_found("webhook", webhook_id)
        await uow.commit()
    return subscription


async def webhook_deliveries(
    ctx: Context,
    principal: Principal,
    webhook_id: uuid.UUID,
    *,
    before: int | None,
    limit: int,
    state: str | None,
) -> list[WebhookDelivery]:
    """A subscription's deliveries, newest first (one extra row means there are more)."""
    principal.require_admin()
    async with ctx.reading() as uow:
        if await uow.webhooks.get(webhook_id) is None:
            raise access.not_found("webhook", webhook_id)
        return await uow.webhooks.deliveries(webhook_id, before=before, limit=limit, state=state)


async def ping_webhook(
    ctx: Context,
    principal: Principal,
    webhook_id: uuid.UUID,
    *,
    timeout_seconds: float,
    allow_private_targets: bool,
) -> PingOutcome:
    """Send a signed test message to a subscription now, with no transaction open."""
    subscription = await get_webhook(ctx, principal, webhook_id)
    return await send_ping(
        subscription,
        now=ctx.now(),
        timeout_seconds=timeout_seconds,
        allow_private_targets=allow_private_targets,
    )


async def delete_webhook(ctx: Context, principal: Principal, webhook_id: uuid.UUID) -> None:
    """Remove a subscription; what it has not received yet is given up."""
    principal.require_admin()
    async with ctx.writing() as uow:
        await uow.outbox.fail_pending_webhooks(
            str(webhook_id), "the webhook subscription was deleted"
        )
        if not await uow.webhooks.remove(webhook_id):
            raise access.not_found("webhook", webhook_id)
        await uow.commit()


def _distinct(event_types: Sequence[str] | None) -> list[str] | None:
    return None if event_types is None else sorted(set(event_types))


def _ensure_allowed_target(url: str, allow_private_targets: bool) -> None:
    if (malformed := malformed_target_reason(url)) is not None:
        raise ValidationProblem(f"url: {malformed}.")
    if allow_private_targets:
        return
    if (reason := private_host_reason(url)) is not None:
        raise ValidationProblem(
            f"Webhooks go to public addresses only: {reason}. "
            "(SESSION_API_WEBHOOK_ALLOW_PRIVATE_TARGETS allows receivers inside the network.)"
        )
