"""One way to page: keyset pages, opaque cursors read strictly, and page limits.

A cursor is the sort key of the last item of a page, as a base64url JSON array. Decoding
checks every element against the key's declared kinds (a UUID, an instant between the years
the schemas accept, a bounded text, a position below 2^63), so a forged or truncated cursor
answers 422 `validation_error` and never reaches a query.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Query

from session_api.api.schemas.common import within_calendar
from session_api.domain.months import parse_month
from session_api.errors import DomainError, ValidationProblem

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K")

MAX_CURSOR_LENGTH = 500
MAX_POSITION = 2**63 - 1
MAX_TEXT = 200
UNREADABLE = "The cursor cannot be read; start again without it."

Limit = Annotated[int, Query(ge=1, le=200, description="Page size, 1..200.")]
Cursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="The `next_cursor` of the previous page."),
]

Plain = str | int


def _uuid(value: object) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError(value)
    return uuid.UUID(value)


def _instant(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(value)
    parsed = datetime.fromisoformat(value)
    if parsed.utcoffset() is None:
        raise ValueError(value)
    return within_calendar(parsed)


def _text(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError(value)
    return value


def _month(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(value)
    try:
        return parse_month(value)
    except DomainError:
        raise ValueError(value) from None


def _position(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_POSITION:
        raise ValueError(value)
    return value


@dataclass(frozen=True, slots=True)
class Keyset(Generic[K]):
    """How one list is ordered: its key, and how that key travels in a cursor."""

    read: Callable[[list[object]], K]
    write: Callable[[K], list[Plain]]

    def decode(self, cursor: str | None) -> K | None:
        """The key a cursor names (None without one); 422 `validation_error` if forged."""
        if cursor is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            values = json.loads(raw)
            if not isinstance(values, list):
                raise ValueError(values)
            return self.read(values)
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError):
            raise ValidationProblem(UNREADABLE) from None

    def encode(self, key: K) -> str:
        """An opaque, URL-safe cursor naming a key."""
        raw = json.dumps(self.write(key), separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def page(
        self, rows: Sequence[T], limit: int, convert: Callable[[T], R], key: Callable[[T], K]
    ) -> tuple[list[R], str | None]:
        """Items of a page fetched with one extra row, and the cursor to the next page."""
        items = [convert(row) for row in rows[:limit]]
        if len(rows) <= limit:
            return items, None
        return items, self.encode(key(rows[limit - 1]))


def _one(values: list[object], read: Callable[[object], T]) -> T:
    (value,) = values
    return read(value)


def _pair(
    values: list[object], first: Callable[[object], T], second: Callable[[object], R]
) -> tuple[T, R]:
    a, b = values
    return first(a), second(b)


BY_ID: Keyset[uuid.UUID] = Keyset(lambda v: _one(v, _uuid), lambda key: [str(key)])
BY_START: Keyset[tuple[datetime, uuid.UUID]] = Keyset(
    lambda v: _pair(v, _instant, _uuid), lambda key: [key[0].isoformat(), str(key[1])]
)
BY_NAME: Keyset[tuple[str, uuid.UUID]] = Keyset(
    lambda v: _pair(v, _text, _uuid), lambda key: [key[0], str(key[1])]
)


def _name_id_month(values: list[object]) -> tuple[str, uuid.UUID, str]:
    name, id_, month = values
    return _text(name), _uuid(id_), _month(month)


# The usage report: coachee-months by coachee name, id, then month.
BY_NAME_MONTH: Keyset[tuple[str, uuid.UUID, str]] = Keyset(
    _name_id_month, lambda key: [key[0], str(key[1]), key[2]]
)
BY_POSITION: Keyset[int] = Keyset(lambda v: _one(v, _position), lambda key: [key])


def page_by_id(
    rows: Sequence[T], limit: int, convert: Callable[[T], R]
) -> tuple[list[R], str | None]:
    """A page of a list ordered by id."""
    return BY_ID.page(rows, limit, convert, _row_id)


def _row_id(row: object) -> uuid.UUID:
    row_id = getattr(row, "id")  # noqa: B009 - rows of any id-ordered table
    assert isinstance(row_id, uuid.UUID)
    return row_id
