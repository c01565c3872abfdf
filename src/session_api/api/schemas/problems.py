"""Problem documents (RFC 9457), one schema per code whose extra members clients read.

`code` is an enum made from the error hierarchy, so a generated client switches on it; the
codes with facts of their own (`monthly_limit_reached`, `time_conflict`, `validation_error`)
have typed members. Other members may be added over time: clients ignore what they do not know.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from session_api.errors import (
    ALL_ERRORS,
    DomainError,
    MonthlyLimitReached,
    NotFound,
    TimeConflict,
    ValidationProblem,
)

TYPED: tuple[type[DomainError], ...] = (MonthlyLimitReached, TimeConflict, ValidationProblem)
OTHER_CODES = tuple(error.code for error in ALL_ERRORS if error not in TYPED)

if TYPE_CHECKING:
    OtherCode = str
else:
    OtherCode = Literal[OTHER_CODES]


def _example(error: type[DomainError], detail: str, **members: Any) -> dict[str, Any]:
    return {
        "type": f"urn:session-api:problem:{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": detail,
        "code": error.code,
        **members,
    }


class _ProblemBase(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


class Problem(_ProblemBase):
    """A refusal whose facts are all in its `code` and `detail`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _example(
                    NotFound, "No coachee 1b4e28ba-2fa1-11d2-883f-0016d3cca427 is visible to you."
                )
            ]
        }
    )

    code: OtherCode


class MonthlyLimitReachedProblem(_ProblemBase):
    """409: the month already holds all the sessions the program allows."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _example(
                    MonthlyLimitReached,
                    "Maia already has 2 of 2 sessions in December 2026; this would be "
                    "session 3. The next month with room is January 2027.",
                    month="2026-12",
                    limit=2,
                    used=2,
                    usage={"scheduled": 1, "completed": 1},
                    attempted_session_number=3,
                    next_available_month="2027-01",
                )
            ]
        }
    )

    code: Literal["monthly_limit_reached"]
    month: str = Field(description="The full month, `YYYY-MM` in the coachee's time zone.")
    limit: int = Field(description="Sessions the program allows per month.")
    used: int = Field(description="Sessions that already count in that month.")
    usage: dict[str, int] | None = Field(
        default=None, description="The month's counted sessions by status."
    )
    attempted_session_number: int = Field(description="The number the new session would have.")
    next_available_month: str | None = Field(
        default=None, description="The next month with room within the program, if any."
    )


class ConflictingSession(BaseModel):
    """The session in the way (its id is null when the caller may not see it)."""

    id: uuid.UUID | None
    starts_at: datetime
    ends_at: datetime


class TimeConflictProblem(_ProblemBase):
    """409: the time overlaps another session of the coach or the coachee."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _example(
                    TimeConflict,
                    "This overlaps session 1b4e28ba-2fa1-11d2-883f-0016d3cca427 of the coach, "
                    "from 2026-12-03T09:00:00+00:00 to 2026-12-03T10:00:00+00:00.",
                    conflicting_session={
                        "id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                        "starts_at": "2026-12-03T09:00:00Z",
                        "ends_at": "2026-12-03T10:00:00Z",
                    },
                )
            ]
        }
    )

    code: Literal["time_conflict"]
    conflicting_session: ConflictingSession | None = None


class FieldError(BaseModel):
    """One invalid part of the request: where (`["body", "name"]`), and why."""

    loc: list[str | int]
    msg: str
    type: str | None = None


class ValidationErrorProblem(_ProblemBase):
    """422: the request is not valid; `errors` lists each invalid part when there are several."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _example(
                    ValidationProblem,
                    "sessions_per_month: Input should be greater than or equal to 1",
                    errors=[
                        {
                            "loc": ["body", "sessions_per_month"],
                            "msg": "Input should be greater than or equal to 1",
                            "type": "greater_than_equal",
                        }
                    ],
                )
            ]
        }
    )

    code: Literal["validation_error"]
    errors: list[FieldError] = Field(default_factory=list)


AnyProblem = Annotated[
    MonthlyLimitReachedProblem | TimeConflictProblem | ValidationErrorProblem | Problem,
    Field(discriminator="code"),
]
