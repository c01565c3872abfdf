"""`Idempotency-Key` replays the first answer and refuses reuse with another body."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.scheduling_support import open_all_week
from tests.support import Factory, auth


@pytest.fixture
async def coachee(factory: Factory) -> dict[str, Any]:
    """A coachee whose coach is available all week."""
    coach = await factory.coach()
    await open_all_week(factory, coach["id"])
    return await factory.coachee(coach=coach)


async def test_retry_replays_the_first_answer(
    client: httpx.AsyncClient, coachee: dict[str, Any]
) -> None:
    body = {"coachee_id": coachee["id"], "starts_at": "2026-12-03T10:00:00+01:00"}
    headers = {**auth(), "Idempotency-Key": "booking-1"}
    first = await client.post("/v1/sessions", json=body, headers=headers)
    retry = await client.post("/v1/sessions", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["etag"] == first.headers["etag"]
    assert retry.headers["idempotent-replayed"] == "true"
    months = await client.get(f"/v1/coachees/{coachee['id']}/months", headers=auth())
    assert months.json()["items"][1]["used"] == 1


async def test_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, coachee: dict[str, Any]
) -> None:
    headers = {**auth(), "Idempotency-Key": "booking-2"}
    body = {"coachee_id": coachee["id"], "starts_at": "2026-12-03T10:00:00+01:00"}
    assert (await client.post("/v1/sessions", json=body, headers=headers)).status_code == 201
    other = {**body, "starts_at": "2026-12-04T10:00:00+01:00"}
    reused = await client.post("/v1/sessions", json=other, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"


async def test_refusals_replay_too_and_keys_are_per_caller(
    client: httpx.AsyncClient, coachee: dict[str, Any]
) -> None:
    body = {"coachee_id": coachee["id"], "starts_at": "2020-01-01T10:00:00+01:00"}
    headers = {**auth(), "Idempotency-Key": "past"}
    first = await client.post("/v1/sessions", json=body, headers=headers)
    again = await client.post("/v1/sessions", json=body, headers=headers)
    assert first.json()["code"] == again.json()["code"] == "in_the_past"
    other_admin = {**auth(sub="another-operator"), "Idempotency-Key": "past"}
    fresh = await client.post("/v1/sessions", json=body, headers=other_admin)
    assert "idempotent-replayed" not in fresh.headers


async def test_bad_keys_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/programs",
        json={"name": "P", "sessions_per_month": 2},
        headers={**auth(), "Idempotency-Key": "x" * 201},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
