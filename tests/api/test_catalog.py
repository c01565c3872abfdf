"""Programs, coaches and coachees through HTTP, with the access rules of SPEC §2."""

from __future__ import annotations

import uuid

import httpx

from tests.support import Factory, as_coach, as_coachee, auth


async def test_admin_creates_program_coach_and_coachee(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    program = await factory.program(sessions_per_month=4, starts_on="2026-01-01")
    coach = await factory.coach(name="Carla")
    coachee = await factory.coachee(program=program, coach=coach)

    assert program["sessions_per_month"] == 4
    assert program["late_cancel_hours"] == 0
    assert coachee["status"] == "active"
    read = await client.get(f"/v1/coachees/{coachee['id']}", headers=auth())
    assert read.status_code == 200
    assert read.json() == coachee


async def test_coach_cannot_see_another_coachs_coachee(
    factory: Factory, client: httpx.AsyncClient
) -> None:
    mine, theirs = await factory.coach(), await factory.coach()
    their_coachee = await factory.coachee(coach=theirs)
    my_coachee = await factory.coachee(coach=mine)

    hidden = await client.get(f"/v1/coachees/{their_coachee['id']}", headers=as_coach(mine))
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    assert hidden.json()["code"] == "not_found"
    listed = await client.get("/v1/coachees", headers=as_coach(mine))
    assert [item["id"] for item in listed.json()["items"]] == [my_coachee["id"]]
    other_coach = await client.get(f"/v1/coaches/{theirs['id']}", headers=as_coach(mine))
    assert other_coach.status_code == 404


async def test_coachee_sees_only_themselves_and_their_coach(
    factory: Factory, client: httpx.AsyncClient
) -> None:
    coach = await factory.coach()
    coachee = await factory.coachee(coach=coach)
    other = await factory.coachee(coach=coach)

    assert (
        await client.get(f"/v1/coachees/{coachee['id']}", headers=as_coachee(coachee))
    ).status_code == 200
    assert (
        await client.get(f"/v1/coachees/{other['id']}", headers=as_coachee(coachee))
    ).status_code == 404
    assert (
        await client.get(f"/v1/coaches/{coach['id']}", headers=as_coachee(coachee))
    ).status_code == 200
    program = await client.get(f"/v1/programs/{coachee['program_id']}", headers=as_coachee(coachee))
    assert program.status_code == 200


async def test_non_admins_cannot_write_catalog(factory: Factory, client: httpx.AsyncClient) -> None:
    coach = await factory.coach()
    coachee = await factory.coachee(coach=coach)
    body = {"name": "X", "sessions_per_month": 2}

    refused = await client.post("/v1/programs", json=body, headers=as_coach(coach))
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    moved = await client.patch(
        f"/v1/coachees/{coachee['id']}",
        json={"program_id": coachee["program_id"]},
        headers=as_coach(coach),
    )
    assert moved.status_code == 403
    paused = await client.patch(
        f"/v1/coachees/{coachee['id']}", json={"status": "paused"}, headers=as_coach(coach)
    )
    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"


async def test_tokens_are_required_and_checked(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/programs")
    assert missing.status_code == 401
    assert missing.json()["code"] == "unauthorized"
    forged = await client.get("/v1/programs", headers={"Authorization": "Bearer not.a.jwt"})
    assert forged.status_code == 401
    bad_sub = await client.get("/v1/programs", headers=auth("coach", "not-a-uuid"))
    assert bad_sub.status_code == 401


async def test_validation_problems(client: httpx.AsyncClient, factory: Factory) -> None:
    cases = [
        ("/v1/programs", {"name": "P", "sessions_per_month": 32}),
        ("/v1/programs", {"name": "P", "sessions_per_month": 2, "session_minutes": 10}),
        (
            "/v1/programs",
            {
                "name": "P",
                "sessions_per_month": 2,
                "starts_on": "2026-02-01",
                "ends_on": "2026-01-01",
            },
        ),
        ("/v1/coaches", {"name": "C", "email": "nope", "timezone": "Europe/Berlin"}),
        ("/v1/coaches", {"name": "C", "email": "c@example.com", "timezone": "Mars/Olympus"}),
        ("/v1/coaches", {"name": "C\x00", "email": "c@example.com", "timezone": "UTC"}),
        ("/v1/coaches", {"name": "C", "email": "c@example.com", "timezone": "UTC", "extra": 1}),
    ]
    for path, body in cases:
        response = await client.post(path, json=body, headers=auth())
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert problem["detail"]
    coach = await factory.coach()
    unknown_program = await client.post(
        "/v1/coachees",
        json={
            "name": "M",
            "email": "m@example.com",
            "timezone": "UTC",
            "program_id": str(uuid.uuid4()),
            "coach_id": coach["id"],
        },
        headers=auth(),
    )
    assert unknown_program.status_code == 422
    assert "names no program" in unknown_program.json()["detail"]
    not_json = await client.post(
        "/v1/programs", content=b"{", headers={**auth(), "content-type": "application/json"}
    )
    assert not_json.status_code == 422


async def test_malformed_and_unknown_ids_are_404(client: httpx.AsyncClient) -> None:
    for path in (
        "/v1/programs/42",
        f"/v1/coaches/{uuid.uuid4()}",
        "/v1/coachees/%20",
        "/v1/nowhere",
    ):
        response = await client.get(path, headers=auth())
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


async def test_lists_page_by_cursor(client: httpx.AsyncClient, factory: Factory) -> None:
    created = {(await factory.coach(name=f"Coach {n}"))["id"] for n in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/coaches", params=params, headers=auth())).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created)
    bad = await client.get("/v1/coaches", params={"cursor": "%%%"}, headers=auth())
    assert bad.status_code == 422
    too_big = await client.get("/v1/coaches", params={"limit": 201}, headers=auth())
    assert too_big.status_code == 422


async def test_patch_program_keeps_rules(client: httpx.AsyncClient, factory: Factory) -> None:
    program = await factory.program(starts_on="2026-01-01", ends_on="2026-12-31")
    lowered = await client.patch(
        f"/v1/programs/{program['id']}", json={"sessions_per_month": 1}, headers=auth()
    )
    assert lowered.status_code == 200
    assert lowered.json()["sessions_per_month"] == 1
    inverted = await client.patch(
        f"/v1/programs/{program['id']}", json={"ends_on": "2025-12-31"}, headers=auth()
    )
    assert inverted.status_code == 422
    nulled = await client.patch(
        f"/v1/programs/{program['id']}", json={"name": None}, headers=auth()
    )
    assert nulled.status_code == 422


async def test_a_patch_changes_what_it_sends_and_null_clears_only_what_may_be_empty(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    program = await factory.program(starts_on="2026-01-01", ends_on="2026-12-31")
    path = f"/v1/programs/{program['id']}"
    opened = await client.patch(path, json={"starts_on": None}, headers=auth())
    assert opened.status_code == 200, opened.text
    assert (opened.json()["starts_on"], opened.json()["ends_on"]) == (None, "2026-12-31")
    assert opened.json()["name"] == program["name"]
    coachee = await factory.coachee(name="Maia")
    for field in ("name", "timezone", "status", "coach_id"):
        refused = await client.patch(
            f"/v1/coachees/{coachee['id']}", json={field: None}, headers=auth()
        )
        assert refused.status_code == 422, field
        assert refused.json()["detail"] == f"{field} cannot be null."
    renamed = await client.patch(
        f"/v1/coachees/{coachee['id']}", json={"name": "Maia B."}, headers=auth()
    )
    assert renamed.status_code == 200
    assert {k: v for k, v in renamed.json().items() if k not in ("name", "updated_at")} == {
        k: v for k, v in coachee.items() if k not in ("name", "updated_at")
    }


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}
