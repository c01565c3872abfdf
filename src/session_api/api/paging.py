"""Opaque cursors and page limits shared by every paged list."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query

from session_api.errors import ValidationProblem

T = TypeVar("T")
R = TypeVar("R")

Limit = Annotated[int, Query(ge=1, le=200, description="Page size, 1..200.")]
Cursor = Annotated[
    str | None,
    Query(max_length=500, description="The `next_cursor` of the previous page."),
]


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque, URL-safe cursor for a position in a list."""
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The position a cursor names; 422 `validation_error` when it cannot be read."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        position = None
    if not isinstance(position, dict):
        raise ValidationProblem("The cursor cannot be read; start again without it.")
    return position


def decode_id_cursor(cursor: str | None) -> uuid.UUID | None:
    """The id after which a list ordered by id continues."""
    if cursor is None:
        return None
    position = decode_cursor(cursor)
    try:
        return uuid.UUID(str(position["id"]))
    except (KeyError, ValueError):
        raise ValidationProblem("The cursor cannot be read; start again without it.") from None


def page_by_id(
    rows: Sequence[T], limit: int, convert: Callable[[T], R]
) -> tuple[list[R], str | None]:
    """Items of a page fetched with one extra row, and the cursor to the next page."""
    items = [convert(row) for row in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    last: Any = rows[limit - 1]
    return items, encode_cursor({"id": str(last.id)})
