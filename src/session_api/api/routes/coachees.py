"""`/v1/coachees`."""

from __future__ import annotations

from fastapi import APIRouter, status

from session_api.api.deps import ContextDep, PrincipalDep
from session_api.api.paging import Cursor, Limit, decode_id_cursor, page_by_id
from session_api.api.problems import problems
from session_api.api.schemas.common import Page
from session_api.api.schemas.people import CoacheeCreate, CoacheeRead, CoacheeUpdate
from session_api.services import access, catalog

router = APIRouter(prefix="/v1/coachees", tags=["coachees"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(403))
async def create_coachee(
    body: CoacheeCreate, ctx: ContextDep, principal: PrincipalDep
) -> CoacheeRead:
    """Enrol a coachee in a program with a coach (admins)."""
    coachee = await catalog.create_coachee(ctx, principal, body.model_dump())
    return CoacheeRead.model_validate(coachee)


@router.get("", responses=problems())
async def list_coachees(
    ctx: ContextDep, principal: PrincipalDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[CoacheeRead]:
    """Coachees the caller may see, by id: a coach lists their own."""
    rows = await catalog.list_coachees(ctx, principal, after=decode_id_cursor(cursor), limit=limit)
    items, next_cursor = page_by_id(rows, limit, CoacheeRead.model_validate)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{coachee_id}", responses=problems(404))
async def get_coachee(coachee_id: str, ctx: ContextDep, principal: PrincipalDep) -> CoacheeRead:
    """One coachee."""
    coachee = await catalog.get_coachee(ctx, principal, access.parse_id("coachee", coachee_id))
    return CoacheeRead.model_validate(coachee)


@router.patch("/{coachee_id}", responses=problems(403, 404))
async def update_coachee(
    coachee_id: str, body: CoacheeUpdate, ctx: ContextDep, principal: PrincipalDep
) -> CoacheeRead:
    """Change a coachee; coaches may change name, e-mail, time zone and status of their own."""
    coachee = await catalog.update_coachee(
        ctx,
        principal,
        access.parse_id("coachee", coachee_id),
        body.model_dump(exclude_unset=True),
    )
    return CoacheeRead.model_validate(coachee)
