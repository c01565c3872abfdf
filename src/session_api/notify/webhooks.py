"""Webhook payloads and their signed delivery over HTTP."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pydantic_core

from session_api.notify import signing
from session_api.notify.mailers import SendFailure
from session_api.notify.targets import ensure_public

USER_AGENT = "session-api-webhooks/1"
GONE = 410


def event_payload(
    *,
    event_id: uuid.UUID,
    type_: str,
    session_id: uuid.UUID | None,
    coachee_id: uuid.UUID,
    occurred_at: datetime,
    data: dict[str, Any],
) -> dict[str, Any]:
    """The event as webhooks and the feed show it; `id` is the stable event id."""
    return {
        "id": event_id,
        "type": type_,
        "session_id": session_id,
        "coachee_id": coachee_id,
        "occurred_at": occurred_at,
        "data": data,
    }


def event_body(payload: dict[str, Any]) -> bytes:
    """The JSON body, encoded exactly as the API encodes the same event in the feed."""
    return pydantic_core.to_json(payload)


class WebhookGone(SendFailure):
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
    secret: str,
    *,
    msg_id: str,
    timestamp: int,
    body: bytes,
    allow_private_targets: bool = False,
) -> None:
    """POST one signed event; any answer but 2xx is a failure, 410 a final one."""
    if not allow_private_targets:
        await ensure_public(url)
    headers = {
        "content-type": "application/json",
        **signing.headers(secret, msg_id, timestamp, body),
    }
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
        raise SendFailure(f"{url} unreachable: {reason}", unreachable=True) from error
    if response.is_success:
        return
    if response.status_code == GONE:
        raise WebhookGone(f"{url} answered 410 Gone", permanent=True, unreachable=True)
    raise SendFailure(f"{url} answered HTTP {response.status_code}")
