"""`/metrics` counts answers under their route templates."""

from __future__ import annotations

import uuid

import httpx

from tests.support import auth


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get(f"/v1/sessions/{uuid.uuid4()}", headers=auth())
    await client.get("/v1/no-such-thing")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'route="/v1/sessions/{session_id}",status="404"' in text
    assert 'route="unmatched"' in text
    assert "session_api_request_duration_seconds_bucket" in text
