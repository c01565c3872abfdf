"""View bodies: sessions with their coachee's name, and coachees with their default slot."""

from __future__ import annotations

from enum import StrEnum

from session_api.api.schemas.people import CoacheeRead
from session_api.api.schemas.sessions import (
    DefaultSlotRead,
    SessionRead,
    default_slot_fields,
    session_fields,
)
from session_api.db.repositories.coachees import StoredCoachee
from session_api.db.repositories.sessions import NumberedSession
from session_api.domain.quota import DefaultSlot


class OpenSessionStatus(StrEnum):
    """The statuses of a session that still lies ahead."""

    REQUESTED = "requested"
    SCHEDULED = "scheduled"


class CoacheeSessionRead(SessionRead):
    """A session with its coachee's name, so a card renders without another call."""

    coachee_name: str

    @classmethod
    def from_row(cls, row: NumberedSession) -> CoacheeSessionRead:
        """Build from a row of `numbered_sessions()`, validating once."""
        return cls.model_validate(coachee_session_fields(row))


def coachee_session_fields(row: NumberedSession) -> dict[str, object]:
    """The fields of `CoacheeSessionRead` from a numbered session, ready for JSON."""
    return {**session_fields(row), "coachee_name": row.coachee_name}


class UnscheduledCoacheeRead(CoacheeRead):
    """An active coachee with nothing ahead, and where the schedule dialog opens (or null)."""

    default_slot: DefaultSlotRead | None

    @classmethod
    def from_view(cls, coachee: StoredCoachee, slot: DefaultSlot | None) -> UnscheduledCoacheeRead:
        """Build from a coachee row and its default slot."""
        default = None if slot is None else DefaultSlotRead(**default_slot_fields(slot))
        return cls.model_validate(
            {**CoacheeRead.model_validate(coachee).model_dump(), "default_slot": default}
        )
