"""iCalendar files: `/v1/sessions/{id}/invite.ics` and `/v1/coaches/{id}/calendar.ics`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response, status

from session_api.api.created import created, locate
from session_api.api.deps import CallerDep, ContextDep, OptionalPrincipalDep
from session_api.api.problems import problems
from session_api.api.routing import ResourceRouter
from session_api.api.schemas.calendars import CalendarKey
from session_api.errors import Unauthorized
from session_api.services import access, calendars

router = ResourceRouter(tags=["calendars"])

CALENDAR_MEDIA_TYPE = "text/calendar; charset=utf-8"
_CALENDAR_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An iCalendar (RFC 5545) document.",
        "content": {"text/calendar": {"schema": {"type": "string"}}},
    }
}


def _calendar(ics: bytes, filename: str) -> Response:
    return Response(
        ics,
        media_type=CALENDAR_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            # Sessions change; a calendar client must not keep a stale copy.
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/v1/sessions/{session_id}/invite.ics",
    response_class=Response,
    responses={**problems(404), **_CALENDAR_ANSWER},
)
async def get_session_invite(session_id: str, caller: CallerDep) -> Response:
    """The session's calendar invite, for whoever may see the session.

    `METHOD:REQUEST` while the session is requested (`STATUS:TENTATIVE`) or scheduled;
    `METHOD:CANCEL` with `STATUS:CANCELLED` once cancelled or late-cancelled; `PUBLISH` once
    it took place. The `UID` never changes; `SEQUENCE` rises on every reschedule and cancel.
    """
    ics = await calendars.session_invite(
        caller.ctx, caller.principal, access.parse_id("session", session_id)
    )
    return _calendar(ics, "invite.ics")


@router.get(
    "/v1/coaches/{coach_id}/calendar.ics",
    response_class=Response,
    responses={**problems(403, 404), **_CALENDAR_ANSWER},
)
async def get_coach_calendar(
    coach_id: str,
    ctx: ContextDep,
    principal: OptionalPrincipalDep,
    key: Annotated[
        str | None,
        Query(max_length=100, description="The coach's calendar key, instead of a token."),
    ] = None,
) -> Response:
    """The coach's requested and scheduled sessions that have not ended.

    A subscription feed (`METHOD:PUBLISH`) with the same `UID`s as the invites, for the coach
    or an admin with a bearer token (a coachee gets 403), or, without a token, for a calendar
    app holding the URL with `?key=` from `POST /v1/coaches/{id}/calendar-key` (a wrong or
    old key answers 404).
    """
    if principal is None and key is None:
        raise Unauthorized("Send 'Authorization: Bearer <token>' or the calendar's ?key=.")
    ics = await calendars.coach_calendar(
        ctx, principal, access.parse_id("coach", coach_id), key=key
    )
    return _calendar(ics, "calendar.ics")


@router.post(
    "/v1/coaches/{coach_id}/calendar-key",
    status_code=status.HTTP_201_CREATED,
    responses={**problems(403, 404), **created()},
)
async def create_calendar_key(coach_id: str, caller: CallerDep, response: Response) -> CalendarKey:
    """A new key for the coach's calendar URL (the coach or admins); the old URL stops working.

    The key is shown in this answer only: the service stores its SHA-256 digest, and the answer
    says `Cache-Control: no-store`, so it is not kept for `Idempotency-Key` retries either; a
    retry makes a new key, which replaces this one.
    """
    coach = access.parse_id("coach", coach_id)
    key = await calendars.new_calendar_key(caller.ctx, caller.principal, coach)
    calendar_key = CalendarKey.for_coach(coach, key)
    locate(response, calendar_key.url)
    response.headers["Cache-Control"] = "no-store"
    return calendar_key
