"""`/v1/coachees`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status

from session_api.api.bodies import json_answer
from session_api.api.created import created, locate
from session_api.api.deps import CallerDep
from session_api.api.paging import BY_ID, Cursor, Limit, page_by_id
from session_api.api.problems import problems
from session_api.api.routing import ResourceRouter
from session_api.api.schemas.common import ItemList, Page, changes_of, command_of
from session_api.api.schemas.people import CoacheeCreate, CoacheeRead, CoacheeUpdate
from session_api.api.schemas.sessions import (
    DefaultSlotRead,
    MonthUsageRead,
    default_slot_fields,
    month_usage_fields,
)
from session_api.db.repositories.coachees import CoacheeChanges, NewCoachee
from session_api.services import access, allowance, catalog

router = ResourceRouter(prefix="/v1/coachees", tags=["coachees"])


@router.post("", status_code=status.HTTP_201_CREATED, responses={**problems(403), **created()})
async def create_coachee(body: CoacheeCreate, caller: CallerDep, response: Response) -> CoacheeRead:
    """Enrol a coachee in a program with a coach (admins)."""
    coachee = await catalog.create_coachee(
        caller.ctx, caller.principal, command_of(body, NewCoachee)
    )
    locate(response, f"/v1/coachees/{coachee.id}")
    return CoacheeRead.model_validate(coachee)


@router.get("", responses=problems())
async def list_coachees(
    caller: CallerDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[CoacheeRead]:
    """Coachees the caller may see, by id: a coach lists their own."""
    rows = await catalog.list_coachees(
        caller.ctx, caller.principal, after=BY_ID.decode(cursor), limit=limit
    )
    items, next_cursor = page_by_id(rows, limit, CoacheeRead.model_validate)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{coachee_id}", responses=problems(404))
async def get_coachee(coachee_id: str, caller: CallerDep) -> CoacheeRead:
    """One coachee."""
    coachee = await catalog.get_coachee(
        caller.ctx, caller.principal, access.parse_id("coachee", coachee_id)
    )
    return CoacheeRead.model_validate(coachee)


@router.patch("/{coachee_id}", responses=problems(403, 404, 409))
async def update_coachee(coachee_id: str, body: CoacheeUpdate, caller: CallerDep) -> CoacheeRead:
    """Change a coachee; coaches may change name, e-mail, time zone and status of their own.

    A new time zone moves the months of the coachee's sessions with it. A new coach (admins)
    takes over the coachee's requested and scheduled sessions that have not ended (recorded
    as `reassigned` in their history); 409 `time_conflict` while the new coach is busy at one
    of those times. Sessions in the past stay with the coach who held them.
    """
    changes = changes_of(body, CoacheeChanges)
    coachee = await catalog.update_coachee(
        caller.ctx, caller.principal, access.parse_id("coachee", coachee_id), changes
    )
    return CoacheeRead.model_validate(coachee)


MonthParam = Annotated[
    str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM, inclusive.")
]


@router.get(
    "/{coachee_id}/months", responses=problems(404), response_model=ItemList[MonthUsageRead]
)
async def list_coachee_months(
    coachee_id: str,
    caller: CallerDep,
    from_: Annotated[MonthParam, Query(alias="from")] = None,
    to: MonthParam = None,
) -> Response:
    """Usage per month in the coachee's time zone; both ends inclusive, at most 24 months.

    Without `from` the range starts at the current month; without `to` it spans six months.
    """
    usages = await allowance.months(
        caller.ctx, caller.principal, access.parse_id("coachee", coachee_id), first=from_, last=to
    )
    return json_answer({"items": [month_usage_fields(usage) for usage in usages]})


@router.get(
    "/{coachee_id}/default-slot", responses=problems(404, 409), response_model=DefaultSlotRead
)
async def get_default_slot(coachee_id: str, caller: CallerDep) -> Response:
    """Where the schedule dialog opens: the earliest month with room, "Session N of M".

    404 `no_month_with_room` when no month within the program has room (an unknown or
    unseen coachee is 404 `not_found`); 409 `coachee_inactive` when the coachee is not
    active (they cannot be booked).
    """
    slot = await allowance.default_slot(
        caller.ctx, caller.principal, access.parse_id("coachee", coachee_id)
    )
    return json_answer(default_slot_fields(slot))


# The hot reads, tried before the rest (`ResourceRouter.try_first`).
router.try_first(list_coachee_months, get_default_slot)
