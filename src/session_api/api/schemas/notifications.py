"""Event feed and webhook subscription bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, HttpUrl, UrlConstraints

from session_api.api.schemas.common import InputModel, OutputModel

EventType = Literal[
    "session.scheduled",
    "session.requested",
    "session.confirmed",
    "session.rescheduled",
    "session.cancelled",
    "session.completed",
    "session.no_show",
    "coachee.month_full",
    "coachee.month_available",
]
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
        "per type `previous_starts_at`, `previous_ends_at`, `message`, `late`, `backfill`. "
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
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    """A new subscription with its signing secret, shown this once."""

    secret: str = Field(
        description="`whsec_` + base64: verify `webhook-signature` with it (Standard Webhooks). "
        "It is not shown again.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )
