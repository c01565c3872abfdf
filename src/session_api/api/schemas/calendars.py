"""What the calendar endpoints answer besides iCalendar documents."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class CalendarKey(BaseModel):
    """The secret of a coach's calendar subscription URL."""

    key: str
    url: str = Field(description="The path to subscribe to, relative to the API's origin.")

    @classmethod
    def for_coach(cls, coach_id: uuid.UUID, key: str) -> CalendarKey:
        """The key with the feed path that carries it."""
        return cls(key=key, url=f"/v1/coaches/{coach_id}/calendar.ics?key={key}")
