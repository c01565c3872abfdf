"""`/v1/events` (the feed) and `/v1/webhooks` (subscriptions): admins only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from session_api.api.created import created, locate
from session_api.api.deps import ContextDep, PrincipalDep, SettingsDep
from session_api.api.paging import (
    Cursor,
    Limit,
    decode_cursor,
    decode_id_cursor,
    encode_cursor,
    page_by_id,
)
from session_api.api.problems import problems
from session_api.api.schemas.common import Page
from session_api.api.schemas.notifications import (
    EventPage,
    EventRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from session_api.errors import ValidationProblem
from session_api.services import access, notifications

router = APIRouter(tags=["notifications"])

After = Annotated[
    str | None,
    Query(max_length=500, description="The `next_cursor` of the previous page; omit to start."),
]


def _position(after: str | None) -> int:
    if after is None:
        return 0
    position: Any = decode_cursor(after).get("position")
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise ValidationProblem("The cursor cannot be read; start again without it.")
    return position


@router.get("/v1/events", responses=problems(403))
async def list_events(
    ctx: ContextDep, principal: PrincipalDep, after: After = None, limit: Limit = 50
) -> EventPage:
    """The event feed, oldest first (admins).

    `next_cursor` is never null: on the last page it names the last event returned (or
    repeats `after`), so a consumer polls with it and receives only what is new.

    Ordering: events join the feed when the outbox worker (`session-api worker`) has fanned
    them out, under one lock, in the order their transactions committed. An event whose id
    was taken first but whose transaction committed later is therefore never skipped by a
    consumer that already read past it. The price: an event shows up once the worker has
    run (typically within `SESSION_API_WORKER_POLL_SECONDS`), not at the instant of commit.
    Delivery is at least once; deduplicate by `id`.
    """
    position = _position(after)
    rows = await notifications.events_after(ctx, principal, after=position, limit=limit)
    items = [
        EventRead(
            id=row.event_id,
            type=row.type,
            session_id=row.session_id,
            coachee_id=row.coachee_id,
            occurred_at=row.occurred_at,
            data=row.data,
        )
        for row in rows
    ]
    if rows:
        position = rows[-1].feed_position
    return EventPage(items=items, next_cursor=encode_cursor({"position": position}))


@router.post(
    "/v1/webhooks",
    status_code=status.HTTP_201_CREATED,
    responses={**problems(403), **created()},
)
async def create_webhook(
    body: WebhookCreate,
    ctx: ContextDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    response: Response,
) -> WebhookCreated:
    """Subscribe a URL to events (admins); the answer carries the signing secret, once.

    Each event is POSTed as JSON (the shape of a feed item) with the Standard Webhooks
    headers `webhook-id` (the event id, the same on every retry), `webhook-timestamp` and
    `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the secret).
    Any 2xx answer is success; other answers and timeouts are retried with exponential
    backoff and jitter for a bounded time; a 410 answer disables the subscription.
    URLs must reach public addresses (422 otherwise, and a delivery whose host resolves to a
    private address fails for good) unless the deployment allows private receivers.
    """
    row = await notifications.create_webhook(
        ctx,
        principal,
        url=str(body.url),
        event_types=body.event_types,
        allow_private_targets=settings.webhook_allow_private_targets,
    )
    locate(response, f"/v1/webhooks/{row.id}")
    return WebhookCreated.model_validate(row)


@router.get("/v1/webhooks", responses=problems(403))
async def list_webhooks(
    ctx: ContextDep, principal: PrincipalDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[WebhookRead]:
    """Webhook subscriptions by id (admins)."""
    rows = await notifications.list_webhooks(
        ctx, principal, after=decode_id_cursor(cursor), limit=limit
    )
    items, next_cursor = page_by_id(rows, limit, WebhookRead.model_validate)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/v1/webhooks/{webhook_id}", responses=problems(403, 404))
async def get_webhook(webhook_id: str, ctx: ContextDep, principal: PrincipalDep) -> WebhookRead:
    """One webhook subscription (admins)."""
    row = await notifications.get_webhook(ctx, principal, access.parse_id("webhook", webhook_id))
    return WebhookRead.model_validate(row)


@router.patch("/v1/webhooks/{webhook_id}", responses=problems(403, 404))
async def update_webhook(
    webhook_id: str,
    body: WebhookUpdate,
    ctx: ContextDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> WebhookRead:
    """Change a subscription (admins); `active: true` re-enables one that was disabled.

    An inactive subscription receives no new events, and what it had not received yet is
    given up.
    """
    changes = body.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        changes["url"] = str(changes["url"])
    row = await notifications.update_webhook(
        ctx,
        principal,
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
async def delete_webhook(webhook_id: str, ctx: ContextDep, principal: PrincipalDep) -> None:
    """Remove a subscription (admins); deliveries it had not received are given up."""
    await notifications.delete_webhook(ctx, principal, access.parse_id("webhook", webhook_id))
