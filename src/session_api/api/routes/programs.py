"""`/v1/programs`."""

from __future__ import annotations

from fastapi import Response, status

from session_api.api.created import created, locate
from session_api.api.deps import CallerDep
from session_api.api.paging import BY_ID, Cursor, Limit, page_by_id
from session_api.api.problems import problems
from session_api.api.routing import ResourceRouter
from session_api.api.schemas.common import Page, changes_of, command_of
from session_api.api.schemas.programs import ProgramCreate, ProgramRead, ProgramUpdate
from session_api.db.repositories.programs import NewProgram, ProgramChanges
from session_api.services import access, catalog

router = ResourceRouter(prefix="/v1/programs", tags=["programs"])


@router.post("", status_code=status.HTTP_201_CREATED, responses={**problems(403), **created()})
async def create_program(body: ProgramCreate, caller: CallerDep, response: Response) -> ProgramRead:
    """Create a program (admins)."""
    program = await catalog.create_program(
        caller.ctx, caller.principal, command_of(body, NewProgram)
    )
    locate(response, f"/v1/programs/{program.id}")
    return ProgramRead.model_validate(program)


@router.get("", responses=problems())
async def list_programs(
    caller: CallerDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[ProgramRead]:
    """Programs the caller may see, by id."""
    rows = await catalog.list_programs(
        caller.ctx, caller.principal, after=BY_ID.decode(cursor), limit=limit
    )
    items, next_cursor = page_by_id(rows, limit, ProgramRead.model_validate)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{program_id}", responses=problems(404))
async def get_program(program_id: str, caller: CallerDep) -> ProgramRead:
    """One program."""
    program = await catalog.get_program(
        caller.ctx, caller.principal, access.parse_id("program", program_id)
    )
    return ProgramRead.model_validate(program)


@router.patch("/{program_id}", responses=problems(403, 404))
async def update_program(program_id: str, body: ProgramUpdate, caller: CallerDep) -> ProgramRead:
    """Change a program (admins); lowering the monthly limit never cancels anything."""
    changes = changes_of(body, ProgramChanges, nullable={"starts_on", "ends_on"})
    program = await catalog.update_program(
        caller.ctx, caller.principal, access.parse_id("program", program_id), changes
    )
    return ProgramRead.model_validate(program)
