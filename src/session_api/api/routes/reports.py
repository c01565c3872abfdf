"""`/v1/reports/usage`: what took place per coachee and month, as JSON pages or one CSV."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from typing import Annotated, Any

from fastapi import Header, Query, Response
from fastapi.responses import StreamingResponse

from session_api.api.deps import CallerDep
from session_api.api.paging import BY_NAME_MONTH, Cursor, Limit
from session_api.api.problems import problems
from session_api.api.routing import ResourceRouter
from session_api.api.schemas.common import Page
from session_api.api.schemas.reports import (
    CSV_COLUMNS,
    CSV_EXAMPLE,
    EXAMPLE,
    UsageItem,
    usage_item,
    usage_values,
)
from session_api.db.repositories.reports import CoacheeMonth
from session_api.services import reports

router = ResourceRouter(tags=["reports"])

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

Month = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM, inclusive.")]
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON pages, or with `Accept: text/csv` the whole report as CSV.",
        "content": {
            "application/json": {
                "example": {
                    "items": [EXAMPLE],
                    "next_cursor": BY_NAME_MONTH.encode(
                        (
                            str(EXAMPLE["coachee_name"]),
                            uuid.UUID(str(EXAMPLE["coachee_id"])),
                            str(EXAMPLE["month"]),
                        )
                    ),
                }
            },
            "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
        },
    }
}


@router.get(
    "/v1/reports/usage", response_model=Page[UsageItem], responses={**problems(), **_ANSWERS}
)
async def get_usage_report(
    caller: CallerDep,
    from_: Annotated[Month, Query(alias="from")],
    to: Month,
    program_id: Annotated[uuid.UUID | None, Query(description="Only this program's.")] = None,
    coach_id: Annotated[uuid.UUID | None, Query(description="Only this coach's.")] = None,
    coachee_id: Annotated[uuid.UUID | None, Query(description="Only this coachee.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    accept: Annotated[
        str | None, Header(description="`text/csv` for the whole report as CSV.")
    ] = None,
) -> Response | Page[UsageItem]:
    """One item per coachee and month (their own zone's months), by coachee name, id, month.

    `from`..`to` spans 1..24 months; every month is listed, also those without sessions.
    Admins see every coachee, a coach their own coachees, a coachee themself; a filter naming
    someone out of sight gives an empty report, never a 404. `unmarked` counts scheduled
    sessions that ended and were never marked, `ahead` requested and scheduled ones not yet
    ended, `used` is the scheduling count of the monthly limit. A requested session whose
    time passed unconfirmed counts in `used` only.

    JSON pages on the last item's (coachee name, coachee id, month): the next page starts
    strictly after it, so nothing is listed twice, and a coachee added or renamed while
    paging shows up only if their new place lies ahead. With `Accept: text/csv` the same rows
    come as one CSV file (header line first), streamed from one snapshot; `limit` and
    `cursor` are checked but do not apply.
    """
    query = reports.UsageQuery(
        first_month=from_,
        last_month=to,
        program_id=program_id,
        coach_id=coach_id,
        coachee_id=coachee_id,
    )
    after = BY_NAME_MONTH.decode(cursor)
    if _prefers_csv(accept):
        return await _csv_response(reports.usage_stream(caller.ctx, caller.principal, query), query)
    rows = await reports.usage_page(caller.ctx, caller.principal, query, after=after, limit=limit)
    items, next_cursor = BY_NAME_MONTH.page(
        rows, limit, usage_item, lambda row: (row.coachee_name, row.coachee_id, row.month)
    )
    return Page(items=items, next_cursor=next_cursor)


async def _csv_response(
    batches: AsyncGenerator[list[CoacheeMonth], None], query: reports.UsageQuery
) -> StreamingResponse:
    # The first batch is read before the answer starts, so a database failure is still a
    # problem answer rather than a cut-off file.
    try:
        first = await anext(batches, None)
    except BaseException:
        await batches.aclose()
        raise
    filename = f"usage-{query.first_month}-{query.last_month}.csv"
    return StreamingResponse(
        _csv_chunks(first, batches),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _csv_chunks(
    first: list[CoacheeMonth] | None, rest: AsyncGenerator[list[CoacheeMonth], None]
) -> AsyncIterator[str]:
    try:
        yield _csv_lines([CSV_COLUMNS])
        if first is not None:
            yield _csv_lines(usage_values(row) for row in first)
            async for batch in rest:
                yield _csv_lines(usage_values(row) for row in batch)
    finally:
        await rest.aclose()


def _csv_lines(rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _prefers_csv(accept: str | None) -> bool:
    """Whether `Accept` ranks text/csv above JSON; JSON wins ties, wildcards and no header."""
    csv_q = json_q = 0.0
    for media_range in (accept or "").split(","):
        media_type, *parameters = (part.strip().lower() for part in media_range.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media_type == "text/csv":
            csv_q = max(csv_q, quality)
        elif media_type in ("application/json", "application/*", "*/*"):
            json_q = max(json_q, quality)
    return csv_q > json_q
