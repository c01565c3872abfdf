"""Event feed and webhook subscription bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, HttpUrl, UrlConstraints, model_validator

from session_api.api.schemas.common import InputModel, OutputModel
from session_api.domain.events import EventType

WebhookUrl = Annotated[
    HttpUrl,
    UrlConstraints(max_length=2000, allowed_schemes=["http", "https"]),
    Field(examples=["https://hooks.example.com/session-api"]),
]
EventTypes = Annotated[
    list[EventType] | None,
    Field(
        min_length=1,
        description="The event types to receive; null (the default) receives every type.",
    ),
]


class EventRead(BaseModel):
    """A domain event; the same body is POSTed to webhooks."""

    id: uuid.UUID = Field(
        description="The event's stable id: webhooks send it as `webhook-id`; deduplicate by it."
    )
    type: EventType
    session_id: uuid.UUID | None = Field(description="Null for `coachee.month_*` events.")
    coachee_id: uuid.UUID
    occurred_at: datetime
    data: dict[str, Any] = Field(
        description="Session events: `actor`, `status`, `starts_at`, `ends_at`, `month` and "
        "per type `previous_starts_at`, `previous_ends_at`, `message`, `late`, `backfill`; "
        "`session.reminder_due` carries `lead_hours` and no `actor` (the worker sends it). "
        "Month events: `month`, `month_title`, `limit`, `used`."
    )


class EventPage(BaseModel):
    """One page of the event feed."""

    items: list[EventRead]
    next_cursor: str = Field(
        description="Never null: pass it as `cursor` to get the events that follow, now or later."
    )


class WebhookCreate(InputModel):
    """A new webhook subscription."""

    url: WebhookUrl
    event_types: EventTypes = None


class WebhookUpdate(InputModel):
    """Changes to a subscription; `active: true` re-enables one that answered 410."""

    url: WebhookUrl | None = None
    event_types: EventTypes = None
    active: bool | None = None


class WebhookRead(OutputModel):
    """A webhook subscription (its secret is only shown when it is created)."""

    id: uuid.UUID
    url: str
    event_types: list[str] | None
    active: bool
    disabled_reason: str | None = Field(
        description="Why the subscription stopped receiving events (e.g. it answered 410)."
    )
    previous_secret_expires_at: datetime | None = Field(
        description="After `rotate-secret`: until this instant every message is also signed "
        "with the previous secret. Null when the subscription was never rotated with a grace."
    )
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    """A new subscription with its signing secret, shown this once."""

    secret: str = Field(
        description="`whsec_` + base64: verify `webhook-signature` with it (Standard Webhooks). "
        "It is not shown again.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookSecretRotated(WebhookCreated):
    """The subscription with its new signing secret, shown this once."""


MAX_GRACE_SECONDS = 30 * 86_400


class WebhookSecretRotation(InputModel):
    """How long the secret being replaced keeps signing."""

    grace_seconds: int | None = Field(
        default=None,
        ge=0,
        le=MAX_GRACE_SECONDS,
        description="Seconds the old secret keeps signing next to the new one; 0 retires it "
        "at once (a leaked secret). Default: the deployment's "
        "`SESSION_API_WEBHOOK_SECRET_GRACE_SECONDS` (24 hours).",
    )


DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookDeliveryRead(OutputModel):
    """One event's delivery to a subscription: where it stands and how its attempts went."""

    event_id: uuid.UUID = Field(description="The event's id: the `webhook-id` it is sent with.")
    event_type: EventType
    occurred_at: datetime
    status: DeliveryStatus = Field(
        description="`pending` (waiting for its first or next attempt), `delivered` (a 2xx "
        "answer) or `failed` (given up; `last_error` says why)."
    )
    attempts: int = Field(description="Attempts so far, the one in flight included.")
    last_error: str | None = Field(description="Why the latest attempt failed, if it did.")
    created_at: datetime = Field(description="When the event was fanned out to this subscription.")
    last_attempt_at: datetime | None = Field(description="When the latest attempt began.")
    next_attempt_at: datetime | None = Field(
        description="When it is tried next; null unless `pending`."
    )
    delivered_at: datetime | None

    @model_validator(mode="after")
    def _next_attempt_only_while_pending(self) -> WebhookDeliveryRead:
        if self.status != "pending":
            self.next_attempt_at = None
        return self


class WebhookTestResult(BaseModel):
    """What became of a test message; the receiver being down is an outcome, not an error."""

    id: uuid.UUID = Field(description="The test message's `webhook-id` (and its JSON `id`).")
    delivered: bool = Field(description="Whether the receiver answered 2xx.")
    status_code: int | None = Field(description="The receiver's HTTP status, if it answered.")
    error: str | None = Field(
        description="Why it was not delivered: unreachable, refused address, timeout, non-2xx."
    )
