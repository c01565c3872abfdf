"""`/v1/coaches/{id}/availability` and `/v1/coaches/{id}/free-slots`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Response

from session_api.api.bodies import json_answer
from session_api.api.deps import CallerDep
from session_api.api.problems import problems
from session_api.api.routing import ResourceRouter
from session_api.api.schemas.availability import (
    AvailabilityBody,
    AvailabilityRead,
    CalendarDate,
    FreeSlotsRead,
    free_slot_fields,
    month_quota_fields,
)
from session_api.domain.availability import availability_from_json, availability_to_json
from session_api.domain.booking import MAX_SESSION_MINUTES, MIN_SESSION_MINUTES
from session_api.services import access, availability

router = ResourceRouter(prefix="/v1/coaches", tags=["availability"])

DST_POLICY = """\
**Daylight-saving changes.** Windows keep their wall-clock times on change days. A window
boundary inside a skipped hour (clocks turned forward) moves to the first instant that exists,
the change itself, so a skipped local time is never offered. A boundary inside a repeated hour
(clocks turned back) is read as its earlier instant when it starts a window and as its later
instant when it ends one, so the window keeps its whole wall-clock span."""

AVAILABILITY_RULES = f"""\
Windows are wall-clock `HH:MM` times in the coach's time zone (the coach's `timezone`); a window
runs from `start` up to, not including, `end`, and `end` may be `"24:00"`, the midnight that ends
the day. On each weekday and each date, windows must end after they start and must not overlap
(touching is allowed: `09:00-12:00` and `12:00-13:00`); a date has at most one override. An
override replaces its weekday's windows for that date; an override with no `windows` is a day
off. A session must lie wholly inside one window; windows that touch form one window, across
midnight too (Monday until `24:00` and Tuesday from `00:00`).

{DST_POLICY}"""

GET_AVAILABILITY = f"""\
The coach's weekly windows and date overrides, as stored: weekly windows ordered by weekday and
start, overrides by date. Admins, the coach and the coach's coachees may read it.

{AVAILABILITY_RULES}"""

PUT_AVAILABILITY = f"""\
Replace the coach's weekly windows and date overrides as a whole (the coach or an admin; one of
the coach's coachees gets 403). Answers what was stored, normalised: weekly windows ordered by
weekday and start, overrides by date, each override's windows by start. Sessions already booked
are not touched; the new availability applies to bookings and moves from now on. A window that
breaks a rule is 422 `validation_error` naming it.

{AVAILABILITY_RULES}"""

LIST_FREE_SLOTS = f"""\
Bookable times of the coach, in time order, for a schedule dialog.

* `from` and `to` are dates in the coach's time zone, both included, at most 62 days apart
  (`to` before `from`, or further apart, is 422).
* A slot starts inside one availability window and lies wholly inside it or the windows that
  touch it (09:00-12:00 and 12:00-13:00, or Monday until 24:00 and Tuesday from 00:00, form one
  window), starts strictly after now, and overlaps no `requested` or `scheduled` session of the
  coach, nor, with `coachee_id`, of the coachee.
* **Step alignment.** Slots start at the window's start and then every `step_minutes` (default
  30) of elapsed time: a `09:10-12:00` window offers 09:10, 09:40, ... After a busy session the
  next slot is the next step on that grid at or after the session's end, not the end itself.
* `duration_minutes` defaults to the program's `session_minutes` when `coachee_id` is given,
  else to 60.
* With `coachee_id` (one of this coach's coachees; a coachee may only name themself), each slot
  carries `month`, its month in the coachee's time zone, and `month_full`; `months` lists the
  coachee's months from the current one (or the range's first, if later) to the range's last,
  within the program, with `limit`, `used`, `remaining` and `full`. Slots in full months stay in
  the list, flagged, so a dialog can grey them out; slots outside the program's dates are left
  out, since booking them would be refused. A coachee who is not `active` cannot be booked:
  409 `coachee_inactive`. Without `coachee_id`, `month` and `month_full` are
  null and `months` is empty.

{DST_POLICY} A repeated hour offers both of its instants."""


@router.get("/{coach_id}/availability", responses=problems(404), description=GET_AVAILABILITY)
async def get_availability(coach_id: str, caller: CallerDep) -> AvailabilityRead:
    """The coach's availability."""
    stored = await availability.get_availability(
        caller.ctx, caller.principal, access.parse_id("coach", coach_id)
    )
    return AvailabilityRead.model_validate(availability_to_json(stored))


@router.put("/{coach_id}/availability", responses=problems(403, 404), description=PUT_AVAILABILITY)
async def put_availability(
    coach_id: str, body: AvailabilityBody, caller: CallerDep
) -> AvailabilityRead:
    """Replace the coach's availability."""
    stored = await availability.put_availability(
        caller.ctx,
        caller.principal,
        access.parse_id("coach", coach_id),
        availability_from_json(body.model_dump(mode="json")),
    )
    return AvailabilityRead.model_validate(availability_to_json(stored))


@router.get(
    "/{coach_id}/free-slots",
    responses=problems(404, 409),
    description=LIST_FREE_SLOTS,
    response_model=FreeSlotsRead,
)
async def list_free_slots(
    coach_id: str,
    caller: CallerDep,
    from_: Annotated[
        CalendarDate, Query(alias="from", description="First day, in the coach's time zone.")
    ],
    to: Annotated[CalendarDate, Query(description="Last day (included), in the coach's zone.")],
    duration_minutes: Annotated[
        int | None,
        Query(
            ge=MIN_SESSION_MINUTES,
            le=MAX_SESSION_MINUTES,
            description="Length of a slot, 15..240 minutes.",
        ),
    ] = None,
    coachee_id: Annotated[
        uuid.UUID | None,
        Query(
            description="One of the coach's coachees: also clear of their sessions, with months."
        ),
    ] = None,
    step_minutes: Annotated[
        int, Query(ge=15, le=240, description="Minutes between slot starts, 15..240.")
    ] = 30,
) -> Response:
    """Bookable times of the coach, with the coachee's months when one is named."""
    found = await availability.list_free_slots(
        caller.ctx,
        caller.principal,
        access.parse_id("coach", coach_id),
        first_day=from_,
        last_day=to,
        duration_minutes=duration_minutes,
        step_minutes=step_minutes,
        coachee_id=coachee_id,
    )
    # Written to JSON once: hundreds of slots as models cost more than finding them.
    return json_answer(
        {
            "items": [free_slot_fields(slot) for slot in found.slots],
            "months": [month_quota_fields(usage) for usage in found.months],
        }
    )
