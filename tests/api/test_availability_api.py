"""Availability and free slots through HTTP: validation, access, overrides, DST, months."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.db.models import sessions
from session_api.domain.availability import WEEKDAYS, availability_from_json, fits
from session_api.domain.months import month_of
from tests.support import Clock, Factory, as_coach, as_coachee, auth, counting_statements

Json = dict[str, Any]


def utc(text: str) -> datetime:
    """An instant written as "2026-11-23T08:00" in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def z(instant: datetime) -> str:
    """The instant as the API writes it."""
    return instant.isoformat().replace("+00:00", "Z")


async def put_availability(
    client: httpx.AsyncClient,
    coach: Json,
    body: Json,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.put(
        f"/v1/coaches/{coach['id']}/availability", json=body, headers=headers or auth()
    )


async def set_availability(client: httpx.AsyncClient, coach: Json, body: Json) -> None:
    response = await put_availability(client, coach, body)
    assert response.status_code == 200, response.text


async def free_slots(
    client: httpx.AsyncClient,
    coach: Json,
    headers: dict[str, str] | None = None,
    /,
    **params: Any,
) -> httpx.Response:
    query = {("from" if key == "from_" else key): value for key, value in params.items()}
    return await client.get(
        f"/v1/coaches/{coach['id']}/free-slots", params=query, headers=headers or auth()
    )


async def slot_starts(
    client: httpx.AsyncClient, coach: Json, headers: dict[str, str] | None = None, /, **params: Any
) -> list[str]:
    response = await free_slots(client, coach, headers, **params)
    assert response.status_code == 200, response.text
    return [item["starts_at"] for item in response.json()["items"]]


async def insert_session(
    engine: AsyncEngine,
    coachee: Json,
    starts_at: datetime,
    *,
    minutes: int = 60,
    status: str = "scheduled",
    coach_id: str | None = None,
) -> None:
    """A session written straight into the table, bypassing the scheduling rules."""
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        await connection.execute(
            insert(sessions).values(
                id=uuid.uuid4(),
                coachee_id=uuid.UUID(coachee["id"]),
                coach_id=uuid.UUID(coach_id or coachee["coach_id"]),
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=minutes),
                month=month_of(starts_at, ZoneInfo(coachee["timezone"])),
                status=status,
                created_by="admin:ops",
                version=1,
                sequence=0,
                created_at=now,
                updated_at=now,
            )
        )


MONDAY_MORNING = {"weekly": [{"weekday": "monday", "start": "09:00", "end": "11:00"}]}


async def test_each_weekday_name_means_that_day_of_the_week(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coach = await factory.coach(timezone="UTC")
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    # One window per day, an hour later each day, so every slot tells which name it came from.
    weekly = [
        {"weekday": name, "start": f"{hour:02d}:00", "end": f"{hour + 1:02d}:00"}
        for hour, name in enumerate(names, start=1)
    ]
    await set_availability(client, coach, {"weekly": weekly, "overrides": []})

    starts = await slot_starts(
        client, coach, from_="2026-11-23", to="2026-11-29", duration_minutes=60
    )

    assert starts == [
        "2026-11-23T01:00:00Z",  # a Monday
        "2026-11-24T02:00:00Z",
        "2026-11-25T03:00:00Z",
        "2026-11-26T04:00:00Z",
        "2026-11-27T05:00:00Z",
        "2026-11-28T06:00:00Z",
        "2026-11-29T07:00:00Z",  # a Sunday
    ]


# --- PUT / GET ---------------------------------------------------------------------------------


async def test_new_coach_has_no_availability(client: httpx.AsyncClient, factory: Factory) -> None:
    coach = await factory.coach()
    response = await client.get(f"/v1/coaches/{coach['id']}/availability", headers=auth())
    assert response.status_code == 200
    assert response.json() == {"weekly": [], "overrides": []}


async def test_put_answers_what_was_stored_sorted_and_get_reads_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coach = await factory.coach()
    body = {
        "weekly": [
            {"weekday": "wednesday", "start": "14:00", "end": "24:00"},
            {"weekday": "monday", "start": "13:00", "end": "17:00"},
            {"weekday": "monday", "start": "09:00", "end": "12:00"},
        ],
        "overrides": [
            {"date": "2026-12-31", "windows": []},
            {
                "date": "2026-12-24",
                "windows": [{"start": "14:00", "end": "15:00"}, {"start": "10:00", "end": "11:00"}],
            },
        ],
    }
    stored = {
        "weekly": [
            {"weekday": "monday", "start": "09:00", "end": "12:00"},
            {"weekday": "monday", "start": "13:00", "end": "17:00"},
            {"weekday": "wednesday", "start": "14:00", "end": "24:00"},
        ],
        "overrides": [
            {
                "date": "2026-12-24",
                "windows": [{"start": "10:00", "end": "11:00"}, {"start": "14:00", "end": "15:00"}],
            },
            {"date": "2026-12-31", "windows": []},
        ],
    }

    put = await put_availability(client, coach, body, as_coach(coach))
    assert put.status_code == 200, put.text
    assert put.json() == stored
    got = await client.get(f"/v1/coaches/{coach['id']}/availability", headers=as_coach(coach))
    assert got.json() == stored

    # A PUT replaces the whole document; missing lists are empty.
    replaced = await put_availability(client, coach, {"overrides": []})
    assert replaced.json() == {"weekly": [], "overrides": []}


async def test_windows_that_touch_are_accepted(client: httpx.AsyncClient, factory: Factory) -> None:
    coach = await factory.coach()
    body = {
        "weekly": [
            {"weekday": "friday", "start": "09:00", "end": "12:00"},
            {"weekday": "friday", "start": "12:00", "end": "13:00"},
            {"weekday": "saturday", "start": "00:00", "end": "24:00"},
        ]
    }
    response = await put_availability(client, coach, body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "in_detail"),
    [
        pytest.param(
            {
                "weekly": [
                    {"weekday": "monday", "start": "09:00", "end": "12:00"},
                    {"weekday": "monday", "start": "11:00", "end": "13:00"},
                ]
            },
            "overlap",
            id="overlapping-weekly",
        ),
        pytest.param(
            {
                "overrides": [
                    {
                        "date": "2026-12-24",
                        "windows": [
                            {"start": "10:00", "end": "11:00"},
                            {"start": "10:30", "end": "12:00"},
                        ],
                    }
                ]
            },
            "overlap",
            id="overlapping-override",
        ),
        pytest.param(
            {"weekly": [{"weekday": "monday", "start": "12:00", "end": "09:00"}]},
            "must end after it starts",
            id="end-before-start",
        ),
        pytest.param(
            {"weekly": [{"weekday": "monday", "start": "09:00", "end": "09:00"}]},
            "must end after it starts",
            id="empty-window",
        ),
        pytest.param(
            {"weekly": [{"weekday": "funday", "start": "09:00", "end": "12:00"}]},
            "weekly.0.weekday",
            id="unknown-weekday",
        ),
        pytest.param(
            {"weekly": [{"weekday": "Monday", "start": "09:00", "end": "12:00"}]},
            "weekly.0.weekday",
            id="capitalised-weekday",
        ),
        pytest.param(
            {"weekly": [{"weekday": "monday", "start": "9:00", "end": "12:00"}]},
            "'9:00' is not a time of day",
            id="one-digit-hour",
        ),
        pytest.param(
            {"weekly": [{"weekday": "monday", "start": "09:00", "end": "25:00"}]},
            "'25:00' is not a time of day",
            id="hour-25",
        ),
        pytest.param(
            {"weekly": [{"weekday": "monday", "start": "09:60", "end": "12:00"}]},
            "'09:60' is not a time of day",
            id="minute-60",
        ),
        pytest.param(
            {"weekly": [{"weekday": "monday", "start": "24:00", "end": "24:00"}]},
            "from 00:00 to 23:59",
            id="start-at-24",
        ),
        pytest.param(
            {"weekly": [{"weekday": "monday", "start": "09:00:00", "end": "12:00"}]},
            "not a time of day",
            id="seconds",
        ),
        pytest.param(
            {"overrides": [{"date": "2026-02-30", "windows": []}]},
            "overrides.0.date",
            id="february-30",
        ),
        pytest.param(
            {"overrides": [{"date": "24.12.2026", "windows": []}]},
            "not a date; write it as YYYY-MM-DD",
            id="date-format",
        ),
        pytest.param(
            {"overrides": [{"date": "2026-12-24T00:00:00", "windows": []}]},
            "not a date",
            id="date-time",
        ),
        pytest.param(
            {"overrides": [{"date": 1798070400, "windows": []}]},
            "not a date",
            id="timestamp",
        ),
        pytest.param(
            {
                "overrides": [
                    {"date": "2026-12-24", "windows": []},
                    {"date": "2026-12-24", "windows": [{"start": "10:00", "end": "11:00"}]},
                ]
            },
            "more than one override",
            id="duplicate-override-date",
        ),
        pytest.param(
            {"overrides": [{"date": "2026-12-24"}]}, "overrides.0.windows", id="missing-windows"
        ),
        pytest.param({"weekly": [], "holidays": []}, "holidays", id="unknown-field"),
        pytest.param(
            {"weekly": [{"weekday": "monday", "start": "09:00", "end": "12:00", "tz": "UTC"}]},
            "tz",
            id="unknown-window-field",
        ),
    ],
)
async def test_invalid_availability_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, factory: Factory, body: Json, in_detail: str
) -> None:
    coach = await factory.coach()
    await set_availability(client, coach, MONDAY_MORNING)

    response = await put_availability(client, coach, body, as_coach(coach))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert in_detail in problem["detail"]
    kept = await client.get(f"/v1/coaches/{coach['id']}/availability", headers=auth())
    assert kept.json() == {**MONDAY_MORNING, "overrides": []}


async def test_too_many_windows_are_refused(client: httpx.AsyncClient, factory: Factory) -> None:
    coach = await factory.coach()
    windows = [
        {"start": f"{h:02d}:{m:02d}", "end": f"{h:02d}:{m + 1:02d}"}
        for h in range(6)
        for m in range(0, 60, 6)
    ]
    response = await put_availability(
        client, coach, {"overrides": [{"date": "2026-12-24", "windows": windows}]}
    )
    assert response.status_code == 422
    assert "overrides.0.windows" in response.json()["detail"]


async def test_who_may_read_and_change_availability(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coach, other_coach = await factory.coach(), await factory.coach()
    coachee = await factory.coachee(coach=coach)
    strangers_coachee = await factory.coachee(coach=other_coach)
    path = f"/v1/coaches/{coach['id']}/availability"

    assert (await put_availability(client, coach, MONDAY_MORNING, auth())).status_code == 200
    assert (
        await put_availability(client, coach, MONDAY_MORNING, as_coach(coach))
    ).status_code == 200
    assert (await client.get(path, headers=as_coachee(coachee))).status_code == 200

    refused = await put_availability(client, coach, MONDAY_MORNING, as_coachee(coachee))
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"

    for headers in (as_coach(other_coach), as_coachee(strangers_coachee)):
        assert (await client.get(path, headers=headers)).status_code == 404
        hidden = await put_availability(client, coach, MONDAY_MORNING, headers)
        assert hidden.status_code == 404
        assert hidden.json()["code"] == "not_found"
    for missing in (str(uuid.uuid4()), "not-an-id"):
        response = await client.get(f"/v1/coaches/{missing}/availability", headers=auth())
        assert response.status_code == 404
    assert (await client.get(path)).status_code == 401
    assert (await client.put(path, json=MONDAY_MORNING)).status_code == 401


# --- free slots --------------------------------------------------------------------------------


async def test_slots_fill_a_window_up_to_its_end(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coach = await factory.coach(timezone="Europe/Berlin")
    await set_availability(client, coach, MONDAY_MORNING)

    response = await free_slots(
        client, coach, from_="2026-11-23", to="2026-11-24", duration_minutes=60
    )

    assert response.status_code == 200, response.text
    # 09:00-11:00 in Berlin (UTC+1): a 60-minute slot ending exactly at 11:00 fits, 10:30 does not.
    assert response.json() == {
        "items": [
            {
                "starts_at": "2026-11-23T08:00:00Z",
                "ends_at": "2026-11-23T09:00:00Z",
                "month": None,
                "month_full": None,
            },
            {
                "starts_at": "2026-11-23T08:30:00Z",
                "ends_at": "2026-11-23T09:30:00Z",
                "month": None,
                "month_full": None,
            },
            {
                "starts_at": "2026-11-23T09:00:00Z",
                "ends_at": "2026-11-23T10:00:00Z",
                "month": None,
                "month_full": None,
            },
        ],
        "months": [],
    }
    # The whole window is one slot; one minute more does not fit anywhere.
    day = {"from_": "2026-11-23", "to": "2026-11-23"}
    assert await slot_starts(client, coach, duration_minutes=120, **day) == ["2026-11-23T08:00:00Z"]
    assert await slot_starts(client, coach, duration_minutes=121, **day) == []


async def test_steps_align_to_the_window_start(client: httpx.AsyncClient, factory: Factory) -> None:
    coach = await factory.coach(timezone="UTC")
    await set_availability(
        client, coach, {"weekly": [{"weekday": "monday", "start": "09:10", "end": "11:00"}]}
    )
    day = {"from_": "2026-11-23", "to": "2026-11-23"}

    assert await slot_starts(client, coach, duration_minutes=30, **day) == [
        "2026-11-23T09:10:00Z",
        "2026-11-23T09:40:00Z",
        "2026-11-23T10:10:00Z",
    ]
    assert await slot_starts(client, coach, duration_minutes=45, step_minutes=15, **day) == [
        "2026-11-23T09:10:00Z",
        "2026-11-23T09:25:00Z",
        "2026-11-23T09:40:00Z",
        "2026-11-23T09:55:00Z",
        "2026-11-23T10:10:00Z",
    ]
    # The default duration without a coachee is 60 minutes.
    assert await slot_starts(client, coach, **day) == [
        "2026-11-23T09:10:00Z",
        "2026-11-23T09:40:00Z",
    ]
    # Longer than the window: nothing fits.
    assert await slot_starts(client, coach, duration_minutes=120, **day) == []


async def test_window_ending_at_midnight(client: httpx.AsyncClient, factory: Factory) -> None:
    coach = await factory.coach(timezone="UTC")
    await set_availability(
        client, coach, {"weekly": [{"weekday": "monday", "start": "22:30", "end": "24:00"}]}
    )
    assert await slot_starts(client, coach, from_="2026-11-23", to="2026-11-24") == [
        "2026-11-23T22:30:00Z",
        "2026-11-23T23:00:00Z",
    ]


async def test_overrides_replace_the_weekday(client: httpx.AsyncClient, factory: Factory) -> None:
    coach = await factory.coach(timezone="UTC")
    await set_availability(
        client,
        coach,
        {
            "weekly": [
                {"weekday": "monday", "start": "09:00", "end": "10:00"},
                {"weekday": "tuesday", "start": "09:00", "end": "10:00"},
            ],
            "overrides": [
                {"date": "2026-11-23", "windows": []},
                {"date": "2026-11-24", "windows": [{"start": "15:00", "end": "16:00"}]},
                # A date with no weekly windows can be opened too.
                {"date": "2026-11-26", "windows": [{"start": "07:00", "end": "08:00"}]},
            ],
        },
    )
    assert await slot_starts(client, coach, from_="2026-11-23", to="2026-12-01") == [
        "2026-11-24T15:00:00Z",
        "2026-11-26T07:00:00Z",
        "2026-11-30T09:00:00Z",
        "2026-12-01T09:00:00Z",
    ]


async def test_from_and_to_are_days_in_the_coachs_zone(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coach = await factory.coach(timezone="Pacific/Auckland")
    await set_availability(
        client, coach, {"weekly": [{"weekday": "tuesday", "start": "08:00", "end": "09:00"}]}
    )
    # Tuesday 08:00 in Auckland (UTC+13 in summer) is Monday 19:00 in UTC.
    assert await slot_starts(client, coach, from_="2026-11-24", to="2026-11-24") == [
        "2026-11-23T19:00:00Z"
    ]
    assert await slot_starts(client, coach, from_="2026-11-23", to="2026-11-23") == []


async def test_only_future_slots_are_offered(
    client: httpx.AsyncClient, factory: Factory, clock: Clock
) -> None:
    coach = await factory.coach(timezone="UTC")
    await set_availability(
        client, coach, {"weekly": [{"weekday": "friday", "start": "11:00", "end": "14:00"}]}
    )
    day = {"from_": "2026-11-20", "to": "2026-11-20"}

    clock.instant = utc("2026-11-20T12:00")
    # Starting exactly now is not in the future.
    assert await slot_starts(client, coach, **day) == [
        "2026-11-20T12:30:00Z",
        "2026-11-20T13:00:00Z",
    ]
    clock.instant = utc("2026-11-20T12:10")
    assert await slot_starts(client, coach, **day) == [
        "2026-11-20T12:30:00Z",
        "2026-11-20T13:00:00Z",
    ]
    assert await slot_starts(client, coach, from_="2026-11-01", to="2026-11-19") == []


async def test_open_sessions_make_slots_busy(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    coach, other_coach = await factory.coach(timezone="UTC"), await factory.coach()
    coachee = await factory.coachee(coach=coach, timezone="UTC")
    neighbour = await factory.coachee(coach=coach, timezone="UTC")
    await set_availability(
        client, coach, {"weekly": [{"weekday": "monday", "start": "09:00", "end": "13:00"}]}
    )
    await insert_session(engine, neighbour, utc("2026-11-23T09:30"), minutes=45)
    await insert_session(engine, neighbour, utc("2026-11-23T12:00"), status="requested")
    for status in ("cancelled", "completed", "late_cancelled", "no_show"):
        await insert_session(engine, neighbour, utc("2026-11-23T11:00"), status=status)
    # The coachee's own session with another coach blocks only when the coachee is named.
    await insert_session(
        engine, coachee, utc("2026-11-23T11:00"), minutes=30, coach_id=other_coach["id"]
    )
    day = {"from_": "2026-11-23", "to": "2026-11-23", "duration_minutes": 30}

    # 09:30-10:15 is busy: 09:00 fits before it, the next step at or after 10:15 is 10:30.
    # 12:00-13:00 is requested, so it is busy as well.
    assert await slot_starts(client, coach, **day) == [
        "2026-11-23T09:00:00Z",
        "2026-11-23T10:30:00Z",
        "2026-11-23T11:00:00Z",
        "2026-11-23T11:30:00Z",
    ]
    assert await slot_starts(client, coach, coachee_id=coachee["id"], **day) == [
        "2026-11-23T09:00:00Z",
        "2026-11-23T10:30:00Z",
        "2026-11-23T11:30:00Z",
    ]


async def test_sessions_across_the_window_edges(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    coach = await factory.coach(timezone="UTC")
    coachee = await factory.coachee(coach=coach, timezone="UTC")
    await set_availability(
        client, coach, {"weekly": [{"weekday": "monday", "start": "09:00", "end": "12:00"}]}
    )
    # One ends exactly where the window starts, one starts exactly where a slot would end.
    await insert_session(engine, coachee, utc("2026-11-23T08:00"))
    await insert_session(engine, coachee, utc("2026-11-23T11:00"), minutes=90)

    assert await slot_starts(client, coach, from_="2026-11-23", to="2026-11-23") == [
        "2026-11-23T09:00:00Z",
        "2026-11-23T09:30:00Z",
        "2026-11-23T10:00:00Z",
    ]


@pytest.mark.parametrize(
    ("params", "in_detail"),
    [
        ({"from_": "2026-12-01", "to": "2027-02-02"}, "at most 62 days"),
        ({"from_": "2026-12-02", "to": "2026-12-01"}, "lies before from"),
        ({"from_": "2026-12-01", "to": "2026-12-01", "duration_minutes": 14}, "duration_minutes"),
        ({"from_": "2026-12-01", "to": "2026-12-01", "duration_minutes": 241}, "duration_minutes"),
        ({"from_": "2026-12-01", "to": "2026-12-01", "step_minutes": 5}, "step_minutes"),
        ({"from_": "2026-12-01", "to": "2026-12-01", "step_minutes": 241}, "step_minutes"),
        ({"from_": "2026-02-30", "to": "2026-03-01"}, "from"),
        ({"from_": "2026-12-01T00:00:00", "to": "2026-12-02"}, "not a date"),
        ({"from_": "2026-12-01"}, "to"),
        ({"from_": "2026-12-01", "to": "2026-12-01", "coachee_id": "nope"}, "coachee_id"),
    ],
)
async def test_bad_free_slot_queries_are_refused(
    client: httpx.AsyncClient, factory: Factory, params: Json, in_detail: str
) -> None:
    coach = await factory.coach()
    response = await free_slots(client, coach, **params)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert in_detail in response.json()["detail"]


async def test_sixty_two_days_apart_is_the_longest_range(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coach = await factory.coach(timezone="UTC")
    await set_availability(
        client,
        coach,
        {"weekly": [{"weekday": day, "start": "09:00", "end": "10:00"} for day in WEEKDAYS]},
    )
    starts = await slot_starts(client, coach, from_="2026-12-01", to="2027-02-01")
    assert len(starts) == 63
    assert starts[0] == "2026-12-01T09:00:00Z"
    assert starts[-1] == "2027-02-01T09:00:00Z"


@pytest.mark.parametrize(
    ("zone", "first", "last"),
    [
        ("Pacific/Kiritimati", "9999-12-01", "9999-12-31"),
        ("Pacific/Pago_Pago", "9999-12-01", "9999-12-31"),
        ("Pacific/Kiritimati", "0001-01-01", "0001-01-31"),
        ("Pacific/Pago_Pago", "0001-01-01", "0001-01-31"),
    ],
)
async def test_the_ends_of_the_calendar_answer_without_slots(
    client: httpx.AsyncClient, factory: Factory, zone: str, first: str, last: str
) -> None:
    coach = await factory.coach(timezone=zone)
    coachee = await factory.coachee(coach=coach, timezone="Pacific/Kiritimati")
    await set_availability(
        client,
        coach,
        {"weekly": [{"weekday": day, "start": "00:00", "end": "24:00"} for day in WEEKDAYS]},
    )
    response = await free_slots(client, coach, from_=first, to=last, coachee_id=coachee["id"])
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "months": []}


# --- daylight-saving change days ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "window", "minutes", "expected"),
    [
        # New York springs forward at 02:00 EST to 03:00 EDT: 01:00-04:00 lasts two hours,
        # and no 02:xx time is offered.
        pytest.param(
            "America/New_York",
            "2026-03-08",
            ("01:00", "04:00"),
            30,
            ["06:00", "06:30", "07:00", "07:30"],
            id="new-york-spring",
        ),
        # A window starting inside the skipped hour starts when the clocks jump (03:00 EDT).
        pytest.param(
            "America/New_York",
            "2026-03-08",
            ("02:30", "04:00"),
            30,
            ["07:00", "07:30"],
            id="new-york-spring-start-in-gap",
        ),
        # New York falls back at 02:00 EDT to 01:00 EST: 01:00-03:00 lasts three hours and
        # offers 01:00 twice (EDT, then EST).
        pytest.param(
            "America/New_York",
            "2026-11-01",
            ("01:00", "03:00"),
            60,
            ["05:00", "06:00", "07:00"],
            id="new-york-fall",
        ),
        # Berlin springs forward at 02:00 CET to 03:00 CEST.
        pytest.param(
            "Europe/Berlin",
            "2026-03-29",
            ("01:00", "04:00"),
            60,
            ["00:00", "01:00"],
            id="berlin-spring",
        ),
        pytest.param(
            "Europe/Berlin",
            "2026-03-29",
            ("02:00", "03:00"),
            15,
            [],
            id="berlin-spring-window-inside-gap",
        ),
        # Berlin falls back at 03:00 CEST to 02:00 CET: 02:00 starts at its earlier instant,
        # 04:00 CET ends the window, three hours later.
        pytest.param(
            "Europe/Berlin",
            "2026-10-25",
            ("02:00", "04:00"),
            60,
            ["00:00", "01:00", "02:00"],
            id="berlin-fall",
        ),
    ],
)
async def test_dst_change_days(
    client: httpx.AsyncClient,
    factory: Factory,
    clock: Clock,
    zone: str,
    day: str,
    window: tuple[str, str],
    minutes: int,
    expected: list[str],
) -> None:
    clock.instant = utc("2026-02-01T12:00")
    coach = await factory.coach(timezone=zone)
    await set_availability(
        client, coach, {"weekly": [{"weekday": "sunday", "start": window[0], "end": window[1]}]}
    )
    response = await free_slots(
        client, coach, from_=day, to=day, duration_minutes=minutes, step_minutes=minutes
    )
    assert response.status_code == 200, response.text
    assert [item["starts_at"] for item in response.json()["items"]] == [
        f"{day}T{hhmm}:00Z" for hhmm in expected
    ]
    # Every slot offered is one the scheduling rules accept as inside the availability.
    stored = await client.get(f"/v1/coaches/{coach['id']}/availability", headers=auth())
    availability = availability_from_json(stored.json())
    for item in response.json()["items"]:
        starts_at = datetime.fromisoformat(item["starts_at"])
        ends_at = datetime.fromisoformat(item["ends_at"])
        assert ends_at - starts_at == timedelta(minutes=minutes)
        assert fits(availability, ZoneInfo(zone), starts_at, ends_at)


@pytest.mark.parametrize(
    ("zone", "first", "last", "expected"),
    [
        (
            "America/New_York",
            "2026-03-06",
            "2026-03-09",
            ["2026-03-06T14:00:00Z", "2026-03-09T13:00:00Z"],
        ),
        (
            "America/New_York",
            "2026-10-30",
            "2026-11-02",
            ["2026-10-30T13:00:00Z", "2026-11-02T14:00:00Z"],
        ),
        (
            "Europe/Berlin",
            "2026-03-27",
            "2026-03-30",
            ["2026-03-27T08:00:00Z", "2026-03-30T07:00:00Z"],
        ),
        (
            "Europe/Berlin",
            "2026-10-23",
            "2026-10-26",
            ["2026-10-23T07:00:00Z", "2026-10-26T08:00:00Z"],
        ),
    ],
)
async def test_windows_keep_their_wall_clock_time_across_a_change(
    client: httpx.AsyncClient,
    factory: Factory,
    clock: Clock,
    zone: str,
    first: str,
    last: str,
    expected: list[str],
) -> None:
    clock.instant = utc("2026-02-01T12:00")
    coach = await factory.coach(timezone=zone)
    await set_availability(
        client,
        coach,
        {
            "weekly": [
                {"weekday": "friday", "start": "09:00", "end": "10:00"},
                {"weekday": "monday", "start": "09:00", "end": "10:00"},
            ]
        },
    )
    assert await slot_starts(client, coach, from_=first, to=last) == expected


# --- with a coachee: months ----------------------------------------------------------------------


async def test_month_full_flags_and_months(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    program = await factory.program(sessions_per_month=2, session_minutes=60)
    coach = await factory.coach(timezone="UTC")
    coachee = await factory.coachee(program=program, coach=coach, timezone="UTC")
    await set_availability(
        client,
        coach,
        {
            "weekly": [
                {"weekday": "monday", "start": "09:00", "end": "10:00"},
                {"weekday": "tuesday", "start": "09:00", "end": "10:00"},
            ]
        },
    )
    # December is full (a completed and a scheduled session); a cancelled one frees its place.
    await insert_session(engine, coachee, utc("2026-12-03T09:00"), status="completed")
    await insert_session(engine, coachee, utc("2026-12-10T09:00"))
    await insert_session(engine, coachee, utc("2026-12-17T09:00"), status="cancelled")
    await insert_session(engine, coachee, utc("2027-01-05T15:00"), status="requested")

    response = await free_slots(
        client,
        coach,
        as_coachee(coachee),
        from_="2026-11-30",
        to="2027-01-04",
        coachee_id=coachee["id"],
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(i["starts_at"], i["month"], i["month_full"]) for i in body["items"]] == [
        ("2026-11-30T09:00:00Z", "2026-11", False),
        ("2026-12-01T09:00:00Z", "2026-12", True),
        ("2026-12-07T09:00:00Z", "2026-12", True),
        ("2026-12-08T09:00:00Z", "2026-12", True),
        ("2026-12-14T09:00:00Z", "2026-12", True),
        ("2026-12-15T09:00:00Z", "2026-12", True),
        ("2026-12-21T09:00:00Z", "2026-12", True),
        ("2026-12-22T09:00:00Z", "2026-12", True),
        ("2026-12-28T09:00:00Z", "2026-12", True),
        ("2026-12-29T09:00:00Z", "2026-12", True),
        ("2027-01-04T09:00:00Z", "2027-01", False),
    ]
    assert body["months"] == [
        {"month": "2026-11", "limit": 2, "used": 0, "remaining": 2, "full": False},
        {"month": "2026-12", "limit": 2, "used": 2, "remaining": 0, "full": True},
        {"month": "2027-01", "limit": 2, "used": 1, "remaining": 1, "full": False},
    ]


async def test_months_are_the_coachees(client: httpx.AsyncClient, factory: Factory) -> None:
    coach = await factory.coach(timezone="Europe/Berlin")
    coachee = await factory.coachee(coach=coach, timezone="America/Los_Angeles")
    await set_availability(
        client, coach, {"weekly": [{"weekday": "tuesday", "start": "08:00", "end": "09:00"}]}
    )
    response = await free_slots(
        client, coach, from_="2026-12-01", to="2026-12-01", coachee_id=coachee["id"]
    )
    body = response.json()
    # Tuesday 08:00 in Berlin is still Monday 30 November in Los Angeles.
    assert body["items"] == [
        {
            "starts_at": "2026-12-01T07:00:00Z",
            "ends_at": "2026-12-01T08:00:00Z",
            "month": "2026-11",
            "month_full": False,
        }
    ]
    assert [month["month"] for month in body["months"]] == ["2026-11", "2026-12"]


async def test_duration_defaults_to_the_program_and_dates_stay_in_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    program = await factory.program(session_minutes=90, ends_on="2026-12-01")
    coach = await factory.coach(timezone="UTC")
    coachee = await factory.coachee(program=program, coach=coach, timezone="UTC")
    await set_availability(
        client,
        coach,
        {"weekly": [{"weekday": d, "start": "09:00", "end": "11:00"} for d in WEEKDAYS]},
    )
    response = await free_slots(
        client, coach, from_="2026-12-01", to="2026-12-02", coachee_id=coachee["id"]
    )
    body = response.json()
    assert [(i["starts_at"], i["ends_at"]) for i in body["items"]] == [
        ("2026-12-01T09:00:00Z", "2026-12-01T10:30:00Z"),
        ("2026-12-01T09:30:00Z", "2026-12-01T11:00:00Z"),
    ]
    assert [month["month"] for month in body["months"]] == ["2026-12"]
    # An explicit duration wins over the program's.
    shorter = await slot_starts(
        client,
        coach,
        from_="2026-12-01",
        to="2026-12-01",
        coachee_id=coachee["id"],
        duration_minutes=60,
    )
    assert len(shorter) == 3


async def test_who_may_ask_for_which_coachee(client: httpx.AsyncClient, factory: Factory) -> None:
    coach, other_coach = await factory.coach(), await factory.coach()
    coachee = await factory.coachee(coach=coach)
    sibling = await factory.coachee(coach=coach)
    stranger = await factory.coachee(coach=other_coach)
    day = {"from_": "2026-12-01", "to": "2026-12-01"}

    for headers in (auth(), as_coach(coach), as_coachee(coachee)):
        response = await free_slots(client, coach, headers, coachee_id=coachee["id"], **day)
        assert response.status_code == 200, response.text
    assert (await free_slots(client, coach, as_coachee(coachee), **day)).status_code == 200

    refused = [
        (as_coachee(coachee), coach, sibling["id"]),
        (as_coach(coach), coach, stranger["id"]),
        (auth(), coach, stranger["id"]),
        (auth(), coach, str(uuid.uuid4())),
        (as_coach(other_coach), coach, None),
        (as_coachee(stranger), coach, None),
    ]
    for headers, whose, coachee_id in refused:
        params = {**day, **({"coachee_id": coachee_id} if coachee_id else {})}
        response = await free_slots(client, whose, headers, **params)
        assert response.status_code == 404, (headers, coachee_id)
        assert response.json()["code"] == "not_found"
    unknown = await client.get(
        "/v1/coaches/not-an-id/free-slots",
        params={"from": "2026-12-01", "to": "2026-12-01"},
        headers=auth(),
    )
    assert unknown.status_code == 404


async def test_which_refusal_a_caller_gets_first(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coach, other_coach = await factory.coach(), await factory.coach()
    coachee = await factory.coachee(coach=coach)
    sibling = await factory.coachee(coach=coach)
    stranger = await factory.coachee(coach=other_coach)
    paused = await factory.coachee(coach=coach)
    paused_stranger = await factory.coachee(coach=other_coach)
    for person in (paused, paused_stranger):
        response = await client.patch(
            f"/v1/coachees/{person['id']}", json={"status": "paused"}, headers=auth()
        )
        assert response.status_code == 200, response.text
    nobody = {"id": str(uuid.uuid4())}
    day = {"from_": "2026-12-01", "to": "2026-12-01"}

    cases = [
        # The coach is decided first: another coach, or a coachee's coach that is not theirs.
        (as_coach(other_coach), coach, coachee["id"], "coach"),
        (as_coachee(stranger), coach, stranger["id"], "coach"),
        (as_coachee(stranger), coach, coachee["id"], "coach"),
        (as_coachee(coachee), other_coach, coachee["id"], "coach"),
        (auth(), nobody, coachee["id"], "coach"),
        (auth(), nobody, paused["id"], "coach"),
        (as_coachee(coachee), nobody, None, "coach"),
        (as_coachee(nobody), coach, None, "coach"),
        # Then the coachee: unknown, not in sight, or another coach's, before being inactive.
        (auth(), coach, nobody["id"], "coachee"),
        (auth(), coach, stranger["id"], "coachee"),
        (auth(), coach, paused_stranger["id"], "coachee"),
        (as_coach(coach), coach, stranger["id"], "coachee"),
        (as_coachee(coachee), coach, sibling["id"], "coachee"),
        (as_coachee(coachee), coach, paused["id"], "coachee"),
    ]
    for headers, whose, coachee_id, kind in cases:
        params = {**day, **({"coachee_id": coachee_id} if coachee_id else {})}
        response = await free_slots(client, whose, headers, **params)
        assert response.status_code == 404, (kind, whose, coachee_id, response.text)
        assert response.json()["detail"].startswith(f"No {kind} with id "), response.text

    for headers in (auth(), as_coach(coach), as_coachee(paused)):
        response = await free_slots(client, coach, headers, coachee_id=paused["id"], **day)
        assert (response.status_code, response.json()["code"]) == (409, "coachee_inactive")
    # An inactive coachee still sees their coach's own free slots.
    assert (await free_slots(client, coach, as_coachee(paused), **day)).status_code == 200


async def test_slots_stay_within_the_programs_dates_in_the_coachees_zone(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    program = await factory.program(starts_on="2026-12-02", ends_on="2026-12-02")
    coach = await factory.coach(timezone="UTC")
    coachee = await factory.coachee(program=program, coach=coach, timezone="America/Los_Angeles")
    await set_availability(
        client,
        coach,
        {"weekly": [{"weekday": d, "start": "07:00", "end": "09:00"} for d in WEEKDAYS]},
    )

    response = await free_slots(
        client, coach, from_="2026-12-01", to="2026-12-03", coachee_id=coachee["id"]
    )

    assert response.status_code == 200, response.text
    body = response.json()
    # 07:00-09:00 UTC is 23:00-01:00 in Los Angeles: only a slot starting on 2 December there
    # (08:00 UTC on the 2nd) and one ending by its midnight (07:00 UTC on the 3rd) are in.
    assert [(i["starts_at"], i["month"], i["month_full"]) for i in body["items"]] == [
        ("2026-12-02T08:00:00Z", "2026-12", False),
        ("2026-12-03T07:00:00Z", "2026-12", False),
    ]
    assert body["months"] == [
        {"month": "2026-12", "limit": 2, "used": 0, "remaining": 2, "full": False}
    ]


async def test_statements_do_not_grow_with_the_range(
    client: httpx.AsyncClient, factory: Factory, engine: AsyncEngine
) -> None:
    coach = await factory.coach(timezone="Europe/Berlin")
    coachee = await factory.coachee(coach=coach)
    await set_availability(
        client,
        coach,
        {"weekly": [{"weekday": d, "start": "08:00", "end": "18:00"} for d in WEEKDAYS]},
    )
    for week in range(8):
        await insert_session(engine, coachee, utc("2026-11-24T10:00") + timedelta(weeks=week))

    counts = []
    for last in ("2026-11-24", "2027-01-25"):
        with counting_statements(engine) as statements:
            response = await free_slots(
                client,
                coach,
                as_coachee(coachee),
                from_="2026-11-24",
                to=last,
                coachee_id=coachee["id"],
            )
        assert response.status_code == 200
        counts.append(
            len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))])
        )
    # The coach with the coachee (the caller) and the program, then the busy sessions with
    # the monthly usage: two whatever the range.
    assert counts == [2, 2]
    # Two as well for an admin naming the coachee, and for the coach's own slots.
    for headers, named in ((auth(), {"coachee_id": coachee["id"]}), (as_coach(coach), {})):
        with counting_statements(engine) as statements:
            response = await free_slots(
                client, coach, headers, from_="2026-11-24", to="2026-12-07", **named
            )
        assert response.status_code == 200, response.text
        assert len(statements) == 2, statements
