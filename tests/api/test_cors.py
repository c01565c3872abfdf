"""CORS: configured origins may call the API from a browser; others get no CORS headers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from session_api.config import Settings
from session_api.main import create_app
from tests.support import auth

FRONTEND = "http://127.0.0.1:5173"


@pytest.fixture
async def browser_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with one allowed browser origin."""
    app = create_app(settings.model_copy(update={"cors_origins": (FRONTEND,)}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def _preflight(origin: str, method: str = "POST", headers: str = "") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


async def test_a_configured_origin_passes_the_preflight_with_the_clients_headers(
    browser_client: httpx.AsyncClient,
) -> None:
    asked = "authorization,content-type,idempotency-key,if-match"
    answer = await browser_client.options(
        "/v1/sessions", headers=_preflight(FRONTEND, "POST", asked)
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == FRONTEND
    allowed = {h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert set(asked.split(",")) <= allowed
    assert "PATCH" in answer.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in answer.headers
    assert answer.headers["x-request-id"]


async def test_answers_expose_the_headers_a_client_reads(
    browser_client: httpx.AsyncClient,
) -> None:
    program = await browser_client.post(
        "/v1/programs",
        json={"name": "P", "sessions_per_month": 2},
        headers={**auth(), "Origin": FRONTEND, "Idempotency-Key": "k-1"},
    )
    assert program.status_code == 201
    assert program.headers["access-control-allow-origin"] == FRONTEND
    exposed = {
        h.strip().lower() for h in program.headers["access-control-expose-headers"].split(",")
    }
    assert exposed == {"etag", "location", "retry-after", "idempotent-replayed", "x-request-id"}
    refused = await browser_client.get("/v1/programs", headers={"Origin": FRONTEND})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == FRONTEND


async def test_another_origin_gets_no_cors_headers(browser_client: httpx.AsyncClient) -> None:
    preflight = await browser_client.options(
        "/v1/sessions", headers=_preflight("http://evil.example", "POST", "authorization")
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    plain = await browser_client.get("/healthz", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in plain.headers


async def test_without_configured_origins_there_is_no_cors(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/v1/sessions", headers=_preflight(FRONTEND, "POST", "authorization")
    )
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers


def test_origins_are_read_comma_separated_and_wildcards_refused() -> None:
    settings = Settings(
        jwt_secret="x" * 32, cors_origins=" http://127.0.0.1:5173 ,https://app.example.com"
    )
    assert settings.cors_origins == ("http://127.0.0.1:5173", "https://app.example.com")
    assert Settings(jwt_secret="x" * 32).cors_origins == ()
    for bad in ("*", "https://app.example.com/", "app.example.com", "https://*.example.com"):
        with pytest.raises(ValueError, match="not an origin"):
            Settings(jwt_secret="x" * 32, cors_origins=bad)
