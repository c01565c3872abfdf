"""`/v1/events` (the feed) and `/v1/webhooks` (subscriptions): admins only."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Annotated

from fastapi import Query, Response, status

from session_api.api.created import created, locate
from session_api.api.deps import CallerDep, SettingsDep
from session_api.api.paging import BY_ID, BY_POSITION, Cursor, Limit, page_by_id
from session_api.api.problems import problems
from session_api.api.routing import ResourceRouter
from session_api.api.schemas.common import Page, changes_of
from session_api.api.schemas.notifications import (
    DeliveryStatus,
    EventPage,
    EventRead,
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryRead,
    WebhookRead,
    WebhookSecretRotated,
    WebhookSecretRotation,
    WebhookTestResult,
    WebhookUpdate,
)
from session_api.db.repositories.base import UNSET
from session_api.db.repositories.webhooks import WebhookChanges
from session_api.services import access, notifications

router = ResourceRouter(tags=["notifications"])

# A test message waits this long at most (or the worker's webhook timeout, if shorter).
TEST_TIMEOUT_SECONDS = 5.0


@router.get("/v1/events", responses=problems(403))
async def list_events(caller: CallerDep, cursor: Cursor = None, limit: Limit = 50) -> EventPage:
    """The event feed, oldest first (admins).

    `next_cursor` is never null: on the last page it names the last event returned (or
    repeats `cursor`), so a consumer polls with it and receives only what is new.

    Ordering: events join the feed when the outbox worker (`session-api worker`) has fanned
    them out, under one lock, in the order their transactions committed. An event whose id
    was taken first but whose transaction committed later is therefore never skipped by a
    consumer that already read past it. The price: an event shows up once the worker has
    run (typically within `SESSION_API_WORKER_POLL_SECONDS`), not at the instant of commit.
    Delivery is at least once; deduplicate by `id`.
    """
    position = BY_POSITION.decode(cursor) or 0
    rows = await notifications.events_after(
        caller.ctx, caller.principal, after=position, limit=limit
    )
    items = [EventRead.model_validate(notifications.public_event(row)) for row in rows]
    if rows:
        position = rows[-1].feed_position
    return EventPage(items=items, next_cursor=BY_POSITION.encode(position))


@router.post(
    "/v1/webhooks",
    status_code=status.HTTP_201_CREATED,
    responses={**problems(403), **created()},
)
async def create_webhook(
    body: WebhookCreate,
    caller: CallerDep,
    settings: SettingsDep,
    response: Response,
) -> WebhookCreated:
    """Subscribe a URL to events (admins); the answer carries the signing secret, once.

    The subscription receives the events that occur from its creation on (`occurred_at` at
    or after its `created_at`), never older ones; the feed has those.

    Each event is POSTed as JSON (the shape of a feed item) with the Standard Webhooks
    headers `webhook-id` (the event id, the same on every retry), `webhook-timestamp` and
    `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the secret).
    Any 2xx answer is success; other answers and timeouts are retried with exponential
    backoff and jitter for a bounded time; a 410 answer disables the subscription.
    URLs must reach public addresses (422 otherwise, and a delivery whose host resolves to a
    private address fails for good) unless the deployment allows private receivers.
    """
    row = await notifications.create_webhook(
        caller.ctx,
        caller.principal,
        url=str(body.url),
        event_types=body.event_types,
        allow_private_targets=settings.webhook_allow_private_targets,
    )
    locate(response, f"/v1/webhooks/{row.id}")
    return WebhookCreated.model_validate(row)


@router.get("/v1/webhooks", responses=problems(403))
async def list_webhooks(
    caller: CallerDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[WebhookRead]:
    """Webhook subscriptions by id (admins)."""
    rows = await notifications.list_webhooks(
        caller.ctx, caller.principal, after=BY_ID.decode(cursor), limit=limit
    )
    items, next_cursor = page_by_id(rows, limit, WebhookRead.model_validate)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/v1/webhooks/{webhook_id}", responses=problems(403, 404))
async def get_webhook(webhook_id: str, caller: CallerDep) -> WebhookRead:
    """One webhook subscription (admins)."""
    row = await notifications.get_webhook(
        caller.ctx, caller.principal, access.parse_id("webhook", webhook_id)
    )
    return WebhookRead.model_validate(row)


@router.patch("/v1/webhooks/{webhook_id}", responses=problems(403, 404))
async def update_webhook(
    webhook_id: str,
    body: WebhookUpdate,
    caller: CallerDep,
    settings: SettingsDep,
) -> WebhookRead:
    """Change a subscription (admins); `active: true` re-enables one that was disabled.

    An inactive subscription receives no new events, and what it had not received yet is
    given up.
    """
    changes = changes_of(body, WebhookChanges, nullable={"event_types"})
    if changes.url is not UNSET:
        changes = replace(changes, url=str(changes.url))
    row = await notifications.update_webhook(
        caller.ctx,
        caller.principal,
        access.parse_id("webhook", webhook_id),
        changes,
        allow_private_targets=settings.webhook_allow_private_targets,
    )
    return WebhookRead.model_validate(row)


@router.delete(
    "/v1/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(403, 404),
)
async def delete_webhook(webhook_id: str, caller: CallerDep) -> None:
    """Remove a subscription (admins); deliveries it had not received are given up."""
    await notifications.delete_webhook(
        caller.ctx, caller.principal, access.parse_id("webhook", webhook_id)
    )


@router.get("/v1/webhooks/{webhook_id}/deliveries", responses=problems(403, 404))
async def list_webhook_deliveries(
    webhook_id: str,
    caller: CallerDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    state: Annotated[
        DeliveryStatus | None, Query(alias="status", description="Only deliveries in this status.")
    ] = None,
) -> Page[WebhookDeliveryRead]:
    """A subscription's deliveries, newest first (admins): status, attempts and last error.

    One item per event fanned out to the subscription, kept as long as the delivery log
    is. Test messages (`POST /v1/webhooks/{id}/test`) are not listed: they are answered
    directly.
    """
    rows = await notifications.webhook_deliveries(
        caller.ctx,
        caller.principal,
        access.parse_id("webhook", webhook_id),
        before=BY_POSITION.decode(cursor),  # deliveries are numbered like feed positions
        limit=limit,
        state=state,
    )
    items, next_cursor = BY_POSITION.page(
        rows, limit, WebhookDeliveryRead.model_validate, lambda row: int(row.id)
    )
    return Page(items=items, next_cursor=next_cursor)


@router.post("/v1/webhooks/{webhook_id}/test", responses=problems(403, 404))
async def ping_webhook(
    webhook_id: str, caller: CallerDep, settings: SettingsDep
) -> WebhookTestResult:
    """Send a signed test message to the subscription now and answer with the outcome (admins).

    The body is shaped like an event: `{id, type: "webhook.test", session_id: null,
    coachee_id: null, occurred_at, data: {webhook_id}}`, with the usual Standard Webhooks
    headers (signed with both secrets during a rotation). It is sent synchronously, once,
    from this request, with the same address checks as deliveries and a timeout of at most
    5 seconds; it does not go through the outbox, is not retried, is not listed among the
    deliveries and never disables the subscription (it is sent to inactive ones too). A
    receiver that is down, slow or refusing is answered 200 with `delivered: false` and
    `error`, never a server error.
    """
    outcome = await notifications.ping_webhook(
        caller.ctx,
        caller.principal,
        access.parse_id("webhook", webhook_id),
        timeout_seconds=min(TEST_TIMEOUT_SECONDS, settings.webhook_timeout_seconds),
        allow_private_targets=settings.webhook_allow_private_targets,
    )
    return WebhookTestResult(
        id=outcome.id,
        delivered=outcome.delivered,
        status_code=outcome.status_code,
        error=outcome.error,
    )


@router.post("/v1/webhooks/{webhook_id}/rotate-secret", responses=problems(403, 404))
async def rotate_webhook_secret(
    webhook_id: str,
    caller: CallerDep,
    settings: SettingsDep,
    body: WebhookSecretRotation | None = None,
) -> WebhookSecretRotated:
    """Replace the signing secret (admins); the answer carries the new one, once.

    During the grace period (`grace_seconds`, default 24 hours, configurable with
    `SESSION_API_WEBHOOK_SECRET_GRACE_SECONDS`) every message is signed with both secrets:
    `webhook-signature` carries two space-separated `v1,` signatures, so a receiver
    verifying with either secret accepts it while it switches. After it, only the new
    secret signs. Rotating again during a grace period retires the older secret at once.
    """
    requested = None if body is None else body.grace_seconds
    grace_seconds = settings.webhook_secret_grace_seconds if requested is None else requested
    row = await notifications.rotate_webhook_secret(
        caller.ctx,
        caller.principal,
        access.parse_id("webhook", webhook_id),
        grace=timedelta(seconds=grace_seconds),
    )
    return WebhookSecretRotated.model_validate(row)
