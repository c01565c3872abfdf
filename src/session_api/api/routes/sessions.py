"""`/v1/sessions`: book, read, move, confirm, cancel and close sessions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Header, Response, status
from fastapi.responses import JSONResponse

from session_api.api import etags
from session_api.api.bodies import json_answer
from session_api.api.created import created, locate
from session_api.api.deps import CallerDep
from session_api.api.problems import problems
from session_api.api.routing import ResourceRouter
from session_api.api.schemas.common import ItemList
from session_api.api.schemas.sessions import (
    BatchPlan,
    HistoryEntry,
    Moment,
    OccurrenceRead,
    SessionBatch,
    SessionCancel,
    SessionConfirm,
    SessionCreate,
    SessionMark,
    SessionRead,
    SessionReschedule,
    session_fields,
)
from session_api.auth import Principal
from session_api.db.repositories.sessions import NumberedSession
from session_api.domain.quota import SessionStatus
from session_api.services import access, batch, scheduling, sessions
from session_api.services.context import Context

router = ResourceRouter(prefix="/v1/sessions", tags=["sessions"])

IfMatch = Annotated[
    str | None,
    Header(
        description="The session's `ETag`; a stale one is refused with 412.",
        max_length=200,
    ),
]
_ETAG_HEADER = {"ETag": {"description": "The session's version.", "schema": {"type": "string"}}}


def _answer(row: NumberedSession) -> Response:
    """The session written to JSON once (the route declares `SessionRead`), with its ETag."""
    answer = json_answer(session_fields(row))
    answer.headers["ETag"] = etags.etag(row.version)
    return answer


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={**problems(403, 404, 409), **created(**_ETAG_HEADER)},
    response_model=SessionRead,
)
async def create_session(body: SessionCreate, caller: CallerDep) -> Response:
    """Schedule (default) or request a session; admins may record a past one.

    Refusals: 409 `monthly_limit_reached` (with `month`, `limit`, `used`, `usage`,
    `attempted_session_number`, `next_available_month`), 409 `time_conflict`,
    409 `outside_availability`, 409 `coachee_inactive`, 422 `in_the_past`,
    422 `outside_program`; a coachee sending `override_availability: true` gets 403.
    """
    row = await scheduling.book(
        caller.ctx,
        caller.principal,
        scheduling.NewSession(
            coachee_id=body.coachee_id,
            starts_at=body.starts_at,
            duration_minutes=body.duration_minutes,
            status=SessionStatus(body.status),
            override_availability=body.override_availability,
            note=body.note,
        ),
    )
    answer = _answer(row)
    answer.status_code = status.HTTP_201_CREATED
    locate(answer, f"/v1/sessions/{row.id}")
    return answer


@router.post(
    "/batch",
    status_code=status.HTTP_201_CREATED,
    response_model=None,
    responses={
        **problems(403, 404, 409),
        201: {
            "model": ItemList[SessionRead],
            "description": "Every session was booked; `Location` names the first.",
            **created()[201],
        },
        200: {"model": BatchPlan, "description": "The dry-run plan; nothing was written."},
    },
)
async def create_session_batch(body: SessionBatch, caller: CallerDep) -> JSONResponse:
    """Plan up to 24 sessions for one coachee at once: all are booked, or none.

    Each occurrence is checked like a single booking, counting the batch's own earlier
    occurrences. A refusal is the first failing occurrence's problem (409 or 422) with an
    `occurrences` list giving, per occurrence, `{starts_at, month, session_number, label, ok,
    code, detail}`. With `dry_run: true` the same plan answers 200 and nothing is written.
    A recurrence keeps the local wall-clock time in the coachee's zone; a week whose local
    time does not exist (clocks skip it) is refused for that occurrence, never moved; a
    repeated local time takes its first (earlier) instant.
    """
    recurrence = body.recurrence
    result = await batch.plan(
        caller.ctx,
        caller.principal,
        batch.NewBatch(
            coachee_id=body.coachee_id,
            starts=body.starts_at,
            recurrence=None
            if recurrence is None
            else batch.Recurrence(
                recurrence.first_starts_at, recurrence.every_weeks, recurrence.count
            ),
            duration_minutes=body.duration_minutes,
            status=SessionStatus(body.status),
            override_availability=body.override_availability,
            note=body.note,
            dry_run=body.dry_run,
        ),
    )
    if body.dry_run:
        dry_plan = BatchPlan(
            ok=result.ok,
            occurrences=[OccurrenceRead.model_validate(vars(o)) for o in result.occurrences],
        )
        return JSONResponse(dry_plan.model_dump(mode="json"), status_code=200)
    booked: ItemList[SessionRead] = ItemList(
        items=[SessionRead.from_row(row) for row in result.created]
    )
    return JSONResponse(
        booked.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/sessions/{result.created[0].id}"},
    )


@router.get(
    "/{session_id}",
    responses={**problems(404), 200: {"headers": _ETAG_HEADER}},
    response_model=SessionRead,
)
async def get_session(session_id: str, caller: CallerDep) -> Response:
    """One session, with its `ETag`."""
    row = await sessions.get_session(
        caller.ctx, caller.principal, access.parse_id("session", session_id)
    )
    return _answer(row)


@router.get("/{session_id}/history", responses=problems(404))
async def get_session_history(session_id: str, caller: CallerDep) -> ItemList[HistoryEntry]:
    """Who did what to the session, when, from what to what, oldest first."""
    rows = await sessions.session_history(
        caller.ctx, caller.principal, access.parse_id("session", session_id)
    )
    return ItemList(
        items=[
            HistoryEntry(
                at=row.at,
                actor=row.actor,
                action=row.action,
                from_=None
                if row.from_status is None
                else Moment(
                    starts_at=row.from_starts_at, ends_at=row.from_ends_at, status=row.from_status
                ),
                to=Moment(starts_at=row.to_starts_at, ends_at=row.to_ends_at, status=row.to_status),
                message=row.message,
                override_availability=row.override_availability,
            )
            for row in rows
        ]
    )


_ACTION_RESPONSES = {**problems(403, 404, 409, 412), 200: {"headers": _ETAG_HEADER}}


@router.post("/{session_id}/reschedule", responses=_ACTION_RESPONSES, response_model=SessionRead)
async def reschedule_session(
    session_id: str,
    body: SessionReschedule,
    caller: CallerDep,
    if_match: IfMatch = None,
) -> Response:
    """Move a requested or scheduled session; a coach moving a requested one schedules it.

    Moving within the session's own month always fits; into another month only while that
    month has room (409 `monthly_limit_reached` otherwise). Once the session has started, only
    the coach or an admin may move it (409 `invalid_transition` for the coachee). Moving it to
    the same start and duration changes nothing: 200 with the session as it was.
    """
    row = await scheduling.reschedule(
        caller.ctx,
        caller.principal,
        access.parse_id("session", session_id),
        scheduling.Move(
            starts_at=body.starts_at,
            duration_minutes=body.duration_minutes,
            override_availability=body.override_availability,
            message=body.message,
        ),
        expected_versions=etags.if_match_versions(if_match),
    )
    return _answer(row)


@router.post("/{session_id}/cancel", responses=_ACTION_RESPONSES, response_model=SessionRead)
async def cancel_session(
    session_id: str,
    body: SessionCancel,
    caller: CallerDep,
    if_match: IfMatch = None,
) -> Response:
    """Cancel a requested or scheduled session; its place in the month is freed.

    When the coachee cancels within the program's `late_cancel_hours` before the start, it
    becomes `late_cancelled`, which keeps counting; a cancel by the coach or an admin always
    frees the place. Once the session has started, only the coach or an admin may cancel it
    (409 `invalid_transition` for the coachee).
    """
    row = await scheduling.cancel(
        caller.ctx,
        caller.principal,
        access.parse_id("session", session_id),
        message=body.message,
        expected_versions=etags.if_match_versions(if_match),
    )
    return _answer(row)


@router.post("/{session_id}/confirm", responses=_ACTION_RESPONSES, response_model=SessionRead)
async def confirm_session(
    session_id: str,
    caller: CallerDep,
    if_match: IfMatch = None,
    body: SessionConfirm | None = None,
) -> Response:
    """The coach (or an admin) confirms a requested session; it becomes scheduled.

    Confirming is the coach's consent, so availability is not checked; the session must still
    lie ahead (422 `in_the_past`) and overlap nothing (409 `time_conflict`).
    """
    body = body or SessionConfirm()
    row = await scheduling.confirm(
        caller.ctx,
        caller.principal,
        access.parse_id("session", session_id),
        message=body.message,
        expected_versions=etags.if_match_versions(if_match),
    )
    return _answer(row)


@router.post("/{session_id}/complete", responses=_ACTION_RESPONSES, response_model=SessionRead)
async def complete_session(
    session_id: str,
    caller: CallerDep,
    if_match: IfMatch = None,
    body: SessionMark | None = None,
) -> Response:
    """Mark a scheduled session as completed, once it has started (coach or admin)."""
    return await _mark(caller.ctx, caller.principal, session_id, "complete", body, if_match)


@router.post("/{session_id}/no-show", responses=_ACTION_RESPONSES, response_model=SessionRead)
async def mark_session_no_show(
    session_id: str,
    caller: CallerDep,
    if_match: IfMatch = None,
    body: SessionMark | None = None,
) -> Response:
    """Mark a scheduled session as a no-show, once it has started (coach or admin)."""
    return await _mark(caller.ctx, caller.principal, session_id, "no_show", body, if_match)


async def _mark(
    ctx: Context,
    principal: Principal,
    session_id: str,
    action: Literal["complete", "no_show"],
    body: SessionMark | None,
    if_match: str | None,
) -> Response:
    row = await scheduling.mark(
        ctx,
        principal,
        access.parse_id("session", session_id),
        action=action,
        message=(body or SessionMark()).message,
        expected_versions=etags.if_match_versions(if_match),
    )
    return _answer(row)


# The hot paths, tried before the rest (`ResourceRouter.try_first`).
router.try_first(get_session, create_session, reschedule_session, cancel_session)
