"""`/v1/coaches`."""

from __future__ import annotations

from fastapi import Response, status

from session_api.api.created import created, locate
from session_api.api.deps import CallerDep
from session_api.api.paging import BY_ID, Cursor, Limit, page_by_id
from session_api.api.problems import problems
from session_api.api.routing import ResourceRouter
from session_api.api.schemas.common import Page, changes_of, command_of
from session_api.api.schemas.people import CoachCreate, CoachRead, CoachUpdate
from session_api.db.repositories.coaches import CoachChanges, NewCoach
from session_api.services import access, catalog

router = ResourceRouter(prefix="/v1/coaches", tags=["coaches"])


@router.post("", status_code=status.HTTP_201_CREATED, responses={**problems(403), **created()})
async def create_coach(body: CoachCreate, caller: CallerDep, response: Response) -> CoachRead:
    """Create a coach (admins)."""
    coach = await catalog.create_coach(caller.ctx, caller.principal, command_of(body, NewCoach))
    locate(response, f"/v1/coaches/{coach.id}")
    return CoachRead.model_validate(coach)


@router.get("", responses=problems())
async def list_coaches(
    caller: CallerDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[CoachRead]:
    """Coaches the caller may see, by id."""
    rows = await catalog.list_coaches(
        caller.ctx, caller.principal, after=BY_ID.decode(cursor), limit=limit
    )
    items, next_cursor = page_by_id(rows, limit, CoachRead.model_validate)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{coach_id}", responses=problems(404))
async def get_coach(coach_id: str, caller: CallerDep) -> CoachRead:
    """One coach."""
    coach = await catalog.get_coach(
        caller.ctx, caller.principal, access.parse_id("coach", coach_id)
    )
    return CoachRead.model_validate(coach)


@router.patch("/{coach_id}", responses=problems(403, 404))
async def update_coach(coach_id: str, body: CoachUpdate, caller: CallerDep) -> CoachRead:
    """Change a coach (admins)."""
    changes = changes_of(body, CoachChanges)
    coach = await catalog.update_coach(
        caller.ctx, caller.principal, access.parse_id("coach", coach_id), changes
    )
    return CoachRead.model_validate(coach)
