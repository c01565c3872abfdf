"""The coach's views: next sessions, all future sessions, unscheduled coachees."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import Query, Response

from session_api.api.bodies import json_answer
from session_api.api.deps import CallerDep
from session_api.api.paging import BY_NAME, BY_START, Cursor, Limit
from session_api.api.problems import problems
from session_api.api.routing import ResourceRouter
from session_api.api.schemas.common import Instant, ItemList, Page
from session_api.api.schemas.views import (
    CoacheeSessionRead,
    OpenSessionStatus,
    UnscheduledCoacheeRead,
    coachee_session_fields,
)
from session_api.errors import ValidationProblem
from session_api.services import access, views

router = ResourceRouter(tags=["views"])

View = Annotated[
    Literal["all-future", "unmarked"],
    Query(
        description="Which sessions: `all-future` (every requested or scheduled session ahead) "
        "or `unmarked` (scheduled sessions that ended and were never marked, oldest first)."
    ),
]
CoachFilter = Annotated[uuid.UUID | None, Query(description="Only this coach's sessions.")]
CoacheeFilter = Annotated[uuid.UUID | None, Query(description="Only this coachee's sessions.")]
StatusFilter = Annotated[
    OpenSessionStatus | None, Query(description="Only sessions in this status (`all-future`).")
]
StartsFrom = Annotated[
    Instant | None,
    Query(alias="from", description="Sessions starting at or after this instant (with offset)."),
]
StartsBefore = Annotated[
    Instant | None,
    Query(alias="to", description="Sessions starting before this instant (with offset)."),
]


@router.get(
    "/v1/coaches/{coach_id}/next-sessions",
    responses=problems(404),
    response_model=ItemList[CoacheeSessionRead],
)
async def list_next_sessions(coach_id: str, caller: CallerDep) -> Response:
    """Each active coachee's earliest future requested or scheduled session, by start.

    Admins see any coach's list and a coach their own; a coachee may ask for their own coach
    and gets only their own next session. Any other coach is 404.
    """
    rows = await views.next_sessions(
        caller.ctx, caller.principal, access.parse_id("coach", coach_id)
    )
    return json_answer({"items": [coachee_session_fields(row) for row in rows]})


@router.get("/v1/sessions", responses=problems(), response_model=Page[CoacheeSessionRead])
async def list_sessions(
    caller: CallerDep,
    view: View = "all-future",
    coach_id: CoachFilter = None,
    coachee_id: CoacheeFilter = None,
    status: StatusFilter = None,
    starts_from: StartsFrom = None,
    starts_before: StartsBefore = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Future requested and scheduled sessions, or unmarked ones, by (starts_at, id), paged.

    `view=unmarked` lists what a coach still has to mark: scheduled sessions that have ended
    and were never marked completed or no-show, oldest first (`status` does not apply).
    Admins see every session, a coach the sessions of their own coachees, a coachee their
    own. Filters only narrow what the caller may see: a filter naming someone out of sight
    gives an empty page, never a 404. Sessions added while paging appear when they start
    after the page the cursor points past; none is ever listed twice.
    """
    if view == "unmarked" and status is not None:
        raise ValidationProblem("`status` does not apply to view=unmarked (all are scheduled).")
    rows = await views.listed_sessions(
        caller.ctx,
        caller.principal,
        view=view,
        coach_id=coach_id,
        coachee_id=coachee_id,
        statuses=None if status is None else [status.value],
        starts_from=starts_from,
        starts_before=starts_before,
        after=BY_START.decode(cursor),
        limit=limit,
    )
    items, next_cursor = BY_START.page(
        rows, limit, coachee_session_fields, lambda row: (row.starts_at, row.id)
    )
    return json_answer({"items": items, "next_cursor": next_cursor})


@router.get("/v1/coaches/{coach_id}/unscheduled-coachees", responses=problems(404))
async def list_unscheduled_coachees(
    coach_id: str,
    caller: CallerDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[UnscheduledCoacheeRead]:
    """Active coachees with no future requested or scheduled session, by name, with default slots.

    Admins see any coach's list and a coach their own; a coachee may ask for their own coach
    and sees only themselves. Any other coach is 404. `default_slot` is null when no month
    within the coachee's program has room.
    """
    found = await views.unscheduled_coachees(
        caller.ctx,
        caller.principal,
        access.parse_id("coach", coach_id),
        after=BY_NAME.decode(cursor),
        limit=limit,
    )
    items, next_cursor = BY_NAME.page(
        found,
        limit,
        lambda one: UnscheduledCoacheeRead.from_view(one.coachee, one.default_slot),
        lambda one: (one.coachee.name, one.coachee.id),
    )
    return Page(items=items, next_cursor=next_cursor)
