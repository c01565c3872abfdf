"""Routers refuse paths outside their own at once; what they do match is matched as before."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from session_api.api.routing import ResourceRouter


def _app() -> FastAPI:
    things = ResourceRouter(prefix="/v1/things")

    @things.get("/{thing_id}")
    async def read_thing(thing_id: str) -> dict[str, str]:
        return {"thing": thing_id}

    @things.post("")
    async def create_thing() -> dict[str, str]:
        return {"thing": "new"}

    others = ResourceRouter()

    @others.get("/v1/others")
    async def list_others() -> dict[str, str]:
        return {"others": "all"}

    @others.get("/v1/things")
    async def list_things() -> dict[str, str]:
        return {"things": "all"}

    app = FastAPI()
    app.include_router(things)
    app.include_router(others)
    return app


def test_a_router_knows_where_its_paths_lead() -> None:
    app = _app()
    things, others = (route.original_router for route in app.router.routes[-2:])  # type: ignore[attr-defined]

    assert things.shape().beginnings == ("/v1/things/",)
    assert things.shape().literal == {"/v1/things": {"POST"}}
    assert others.shape().beginnings == ()
    assert others.shape().literal == {"/v1/others": {"GET"}, "/v1/things": {"GET"}}


async def test_requests_reach_their_routes_and_nothing_else() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/v1/things/7")).json() == {"thing": "7"}
        assert (await client.post("/v1/things")).json() == {"thing": "new"}
        assert (await client.get("/v1/others")).json() == {"others": "all"}
        # One path, its methods in two routers: the first takes POST only, the second GET.
        assert (await client.get("/v1/things")).json() == {"things": "all"}
        # A known path with another method is still 405, an unknown one 404.
        assert (await client.delete("/v1/things")).status_code == 405
        assert (await client.delete("/v1/things/7")).status_code == 405
        assert (await client.post("/v1/others")).status_code == 405
        assert (await client.get("/v1/elsewhere")).status_code == 404


async def test_behind_a_root_path_routes_still_match() -> None:
    transport = httpx.ASGITransport(app=_app(), root_path="/api")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/api/v1/things/7")).json() == {"thing": "7"}
        assert (await client.get("/api/v1/elsewhere")).status_code == 404


def test_hot_routes_are_tried_first_and_documented_where_they_were_written() -> None:
    router = ResourceRouter(prefix="/v1/things")

    @router.post("")
    async def create_thing() -> None: ...

    @router.get("/{thing_id}")
    async def read_thing(thing_id: str) -> None: ...

    @router.get("/{thing_id}/parts")
    async def list_parts(thing_id: str) -> None: ...

    router.try_first(list_parts, read_thing)

    assert [route.path for route in router.routes] == [  # type: ignore[attr-defined]
        "/v1/things/{thing_id}/parts",
        "/v1/things/{thing_id}",
        "/v1/things",
    ]
    assert [route.path for route in router.declared] == [  # type: ignore[attr-defined]
        "/v1/things",
        "/v1/things/{thing_id}",
        "/v1/things/{thing_id}/parts",
    ]
