"""Webhook payloads and their signed delivery over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx
import pydantic_core

from session_api.notify import signing
from session_api.notify.mailers import SendFailure
from session_api.notify.targets import ensure_public

USER_AGENT = "session-api-webhooks/1"
GONE = 410
# The `type` of the ping `POST /v1/webhooks/{id}/test` sends; never a domain event.
TEST_EVENT_TYPE = "webhook.test"


class Subscription(Protocol):
    """What sending to a subscription reads of it (a `webhook_subscriptions` row)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def url(self) -> str: ...
    @property
    def secret(self) -> str: ...
    @property
    def previous_secret(self) -> str | None: ...
    @property
    def previous_secret_expires_at(self) -> datetime | None: ...
    @property
    def event_types(self) -> list[str] | None: ...
    @property
    def created_at(self) -> datetime: ...


def receives(subscription: Subscription, event_type: str, occurred_at: datetime) -> bool:
    """Whether an event goes to a subscription: a type it wants, occurring once it existed.

    Events that occurred before the subscription was created are not its business, even when
    the worker fans them out later.
    """
    wanted = subscription.event_types is None or event_type in subscription.event_types
    return wanted and occurred_at >= subscription.created_at


def signing_secrets(subscription: Subscription, now: datetime) -> list[str]:
    """The secrets that sign a message sent now, the current one first.

    During a rotation's grace period the previous secret signs too, so a receiver that has
    not switched yet still accepts the message.
    """
    expires_at = subscription.previous_secret_expires_at
    if subscription.previous_secret is None or expires_at is None or now >= expires_at:
        return [subscription.secret]
    return [subscription.secret, subscription.previous_secret]


def event_payload(
    event_id: uuid.UUID,
    type_: str,
    session_id: uuid.UUID | None,
    coachee_id: uuid.UUID | None,
    occurred_at: datetime,
    data: Mapping[str, object],
) -> dict[str, object]:
    """The event as webhooks and the feed show it; `id` is the stable event id."""
    return {
        "id": event_id,
        "type": type_,
        "session_id": session_id,
        "coachee_id": coachee_id,
        "occurred_at": occurred_at,
        "data": data,
    }


def event_body(payload: Mapping[str, object]) -> bytes:
    """The JSON body, encoded exactly as the API encodes the same event in the feed."""
    return pydantic_core.to_json(payload)


class WebhookRefused(SendFailure):
    """The receiver answered, but not with 2xx."""

    def __init__(
        self, reason: str, status_code: int, *, permanent: bool = False, unreachable: bool = False
    ):
        super().__init__(reason, permanent=permanent, unreachable=unreachable)
        self.status_code = status_code


class WebhookGone(WebhookRefused):
    """The receiver answered 410 Gone: it wants no more deliveries."""


def http_client(timeout_seconds: float) -> httpx.AsyncClient:
    """A client for one relay pass; redirects are not followed (a receiver must answer 2xx)."""
    return httpx.AsyncClient(
        timeout=timeout_seconds,
        follow_redirects=False,
        headers={"user-agent": USER_AGENT},
    )


async def post_event(
    client: httpx.AsyncClient,
    url: str,
    secrets: Sequence[str],
    *,
    msg_id: str,
    timestamp: int,
    body: bytes,
    allow_private_targets: bool = False,
) -> int:
    """POST one signed event and return the 2xx status; other answers fail, 410 for good."""
    if not allow_private_targets:
        await ensure_public(url)
    headers = {
        "content-type": "application/json",
        **signing.headers(secrets, msg_id, timestamp, body),
    }
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
        raise SendFailure(f"{url} unreachable: {reason}", unreachable=True) from error
    if response.is_success:
        return response.status_code
    if response.status_code == GONE:
        raise WebhookGone(f"{url} answered 410 Gone", GONE, permanent=True, unreachable=True)
    raise WebhookRefused(f"{url} answered HTTP {response.status_code}", response.status_code)


@dataclass(frozen=True)
class PingOutcome:
    """What became of a test ping: `delivered` on a 2xx answer, else why not."""

    id: uuid.UUID
    delivered: bool
    status_code: int | None
    error: str | None


async def send_ping(
    subscription: Subscription,
    *,
    now: datetime,
    timeout_seconds: float,
    allow_private_targets: bool,
) -> PingOutcome:
    """POST a signed `webhook.test` message once, within `timeout_seconds` in all.

    Signed like an event sent now (both secrets during a rotation); never retried, never
    recorded. Every failure is an outcome, not an exception.
    """
    url, ping_id = subscription.url, uuid.uuid4()
    body = event_body(
        event_payload(
            event_id=ping_id,
            type_=TEST_EVENT_TYPE,
            session_id=None,
            coachee_id=None,
            occurred_at=now,
            data={"webhook_id": subscription.id},
        )
    )
    try:
        # One bound for everything: the DNS check, connecting, sending and the answer.
        async with asyncio.timeout(timeout_seconds), http_client(timeout_seconds) as client:
            status_code = await post_event(
                client,
                url,
                signing_secrets(subscription, now),
                msg_id=str(ping_id),
                timestamp=int(now.timestamp()),
                body=body,
                allow_private_targets=allow_private_targets,
            )
    except TimeoutError:
        return PingOutcome(
            ping_id, False, None, f"{url} did not answer within {timeout_seconds:g} s"
        )
    except WebhookRefused as refused:
        return PingOutcome(ping_id, False, refused.status_code, refused.reason)
    except SendFailure as failure:
        return PingOutcome(ping_id, False, None, failure.reason)
    return PingOutcome(ping_id, True, status_code, None)
