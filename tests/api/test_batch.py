"""Planning several sessions at once: all or nothing, dry runs, recurrences across DST."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scheduling_support import always_open_coachee, booked
from tests.support import Factory, as_coachee, auth, counting_statements


@pytest.fixture
async def coachee(factory: Factory) -> dict[str, Any]:
    """Two sessions a month, in New York, with a coach available all day."""
    return await always_open_coachee(factory, timezone="America/New_York")


def _weekly(coachee: dict[str, Any], first: str, count: int, **fields: Any) -> dict[str, Any]:
    return {
        "coachee_id": coachee["id"],
        "recurrence": {"first_starts_at": first, "every_weeks": 1, "count": count},
        **fields,
    }


async def test_dry_run_shows_the_plan_and_writes_nothing(
    client: httpx.AsyncClient, coachee: dict[str, Any]
) -> None:
    body = _weekly(coachee, "2026-12-15T10:00:00-05:00", 3, dry_run=True)
    response = await client.post("/v1/sessions/batch", json=body, headers=auth())
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["ok"] is False
    assert [(o["month"], o["label"], o["ok"]) for o in plan["occurrences"]] == [
        ("2026-12", "Session 1 of 2", True),
        ("2026-12", "Session 2 of 2", True),
        ("2026-12", None, False),
    ]
    assert plan["occurrences"][2]["code"] == "monthly_limit_reached"
    assert "already has 2 of 2 sessions in December 2026" in plan["occurrences"][2]["detail"]
    months = await client.get(f"/v1/coachees/{coachee['id']}/months", headers=auth())
    assert months.json()["items"][0]["used"] == 0


async def test_all_or_nothing(client: httpx.AsyncClient, coachee: dict[str, Any]) -> None:
    refused = await client.post(
        "/v1/sessions/batch",
        json=_weekly(coachee, "2026-12-15T10:00:00-05:00", 3),
        headers=auth(),
    )
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "monthly_limit_reached"
    assert problem["detail"].startswith("Occurrence 3 cannot be booked")
    assert len(problem["occurrences"]) == 3
    months = await client.get(f"/v1/coachees/{coachee['id']}/months", headers=auth())
    assert months.json()["items"][0]["used"] == 0

    created = await client.post(
        "/v1/sessions/batch",
        json={
            "coachee_id": coachee["id"],
            "recurrence": {
                "first_starts_at": "2026-12-22T10:00:00-05:00",
                "every_weeks": 2,
                "count": 4,
            },
        },
        headers=auth(),
    )
    assert created.status_code == 201, created.text
    items = created.json()["items"]
    assert [(s["month"], s["label"]) for s in items] == [
        ("2026-12", "Session 1 of 2"),
        ("2027-01", "Session 1 of 2"),
        ("2027-01", "Session 2 of 2"),
        ("2027-02", "Session 1 of 2"),
    ]


async def test_recurrence_keeps_local_time_across_dst(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coachee = await always_open_coachee(factory, timezone="America/New_York", sessions_per_month=8)
    body = _weekly(coachee, "2027-03-07T10:00:00-05:00", 2, dry_run=True)
    plan = (await client.post("/v1/sessions/batch", json=body, headers=auth())).json()
    # 10:00 in New York is 15:00Z before the change on 2027-03-14 and 14:00Z after it.
    assert [o["starts_at"] for o in plan["occurrences"]] == [
        "2027-03-07T15:00:00Z",
        "2027-03-14T14:00:00Z",
    ]
    skipped = _weekly(coachee, "2027-03-07T02:30:00-05:00", 2, dry_run=True)
    plan = (await client.post("/v1/sessions/batch", json=skipped, headers=auth())).json()
    second = plan["occurrences"][1]
    assert (second["ok"], second["starts_at"], second["code"]) == (False, None, "validation_error")
    assert "does not exist on 2027-03-14" in second["detail"]


async def test_batch_checks_conflicts_and_access(
    client: httpx.AsyncClient, coachee: dict[str, Any], factory: Factory
) -> None:
    existing = await booked(client, coachee, "2026-12-15T10:30:00-05:00")
    body = {
        "coachee_id": coachee["id"],
        "starts_at": ["2026-12-15T10:00:00-05:00", "2027-01-05T10:00:00-05:00"],
    }
    refused = await client.post("/v1/sessions/batch", json=body, headers=auth())
    assert refused.json()["code"] == "time_conflict"
    assert existing["id"] in refused.json()["occurrences"][0]["detail"]
    own_overlap = {
        "coachee_id": coachee["id"],
        "starts_at": ["2027-01-05T10:00:00-05:00", "2027-01-05T10:30:00-05:00"],
    }
    clash = await client.post("/v1/sessions/batch", json=own_overlap, headers=auth())
    assert "batch's own occurrence" in clash.json()["detail"]
    other = await factory.coachee()
    hidden = await client.post("/v1/sessions/batch", json=body, headers=as_coachee(other))
    assert hidden.status_code == 404
    both = {
        **body,
        "recurrence": {"first_starts_at": body["starts_at"][0], "every_weeks": 1, "count": 2},
    }
    assert (await client.post("/v1/sessions/batch", json=both, headers=auth())).status_code == 422
    too_many = _weekly(coachee, "2026-12-15T10:00:00-05:00", 25)
    assert (
        await client.post("/v1/sessions/batch", json=too_many, headers=auth())
    ).status_code == 422


async def test_statements_do_not_grow_with_occurrences(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    coachee = await always_open_coachee(factory, sessions_per_month=31)
    counts = []
    with counting_statements(engine) as statements:
        for first, occurrences in (("2026-12-01T10:00:00Z", 2), ("2027-06-01T10:00:00Z", 20)):
            statements.clear()
            response = await client.post(
                "/v1/sessions/batch", json=_weekly(coachee, first, occurrences), headers=auth()
            )
            assert response.status_code == 201, response.text
            counts.append(len(statements))
    assert counts[0] == counts[1]
