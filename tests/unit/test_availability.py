"""A coach's availability: JSON, validation, windows, fitting and free slots across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from session_api.domain.availability import (
    END_OF_DAY,
    MAX_OVERRIDES,
    MAX_WINDOWS_PER_DAY,
    Availability,
    DateOverride,
    WeeklyWindow,
    Window,
    availability_from_json,
    availability_from_text,
    availability_to_json,
    fits,
    format_clock,
    free_slots,
    parse_clock,
    validate_availability,
    window_instants,
)
from session_api.errors import ValidationProblem

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SANTIAGO = ZoneInfo("America/Santiago")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
MONDAY = date(2026, 11, 16)
HOUR = timedelta(hours=1)
HALF_HOUR = timedelta(minutes=30)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def local(zone: ZoneInfo, day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone).replace(fold=fold)


def every_day(start: time, end: time) -> Availability:
    return Availability(
        weekly=tuple(WeeklyWindow(weekday, start, end) for weekday in range(7)), overrides=()
    )


def slots_on(
    av: Availability,
    zone: ZoneInfo,
    day: date,
    duration: timedelta = HOUR,
    step: timedelta = HOUR,
    busy: tuple[tuple[datetime, datetime], ...] = (),
    not_before: datetime = LONG_AGO,
) -> list[tuple[datetime, datetime]]:
    return free_slots(av, zone, day, day, duration, step, busy, not_before)


def starts(slots: list[tuple[datetime, datetime]]) -> list[datetime]:
    return [start for start, _ in slots]


SAMPLE_JSON: dict[str, Any] = {
    "weekly": [
        {"weekday": "monday", "start": "09:00", "end": "12:00"},
        {"weekday": "monday", "start": "13:00", "end": "17:30"},
        {"weekday": "friday", "start": "20:00", "end": "24:00"},
    ],
    "overrides": [
        {"date": "2026-12-24", "windows": [{"start": "10:00", "end": "11:00"}]},
        {"date": "2026-12-25", "windows": []},
    ],
}
SAMPLE = Availability(
    weekly=(
        WeeklyWindow(0, time(9), time(12)),
        WeeklyWindow(0, time(13), time(17, 30)),
        WeeklyWindow(4, time(20), END_OF_DAY),
    ),
    overrides=(
        DateOverride(date(2026, 12, 24), (Window(time(10), time(11)),)),
        DateOverride(date(2026, 12, 25), ()),
    ),
)


# --- clock times -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"), [("00:00", time(0)), ("09:05", time(9, 5)), ("23:59", time(23, 59))]
)
def test_parse_clock_reads_hours_and_minutes(text: str, expected: time) -> None:
    assert parse_clock(text, is_end=False) == expected
    assert parse_clock(text, is_end=True) == expected


def test_24_00_is_the_end_of_the_day_and_only_an_end() -> None:
    assert parse_clock("24:00", is_end=True) == END_OF_DAY
    assert format_clock(END_OF_DAY, is_end=True) == "24:00"
    with pytest.raises(ValidationProblem, match="from 00:00 to 23:59"):
        parse_clock("24:00", is_end=False)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "9:00",
        "09:0",
        "24:01",
        "25:00",
        "12:60",
        "09:00:00",
        "0900",
        " 09:00",
        "\uff10\uff19:00",
    ],
)
def test_parse_clock_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValidationProblem) as refused:
        parse_clock(text, is_end=True)
    assert refused.value.detail == (
        f"{text!r} is not a time of day; write it as HH:MM from 00:00 to 24:00."
    )


def test_format_clock_refuses_times_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="whole-minute"):
        format_clock(time(9, 0, 30), is_end=False)
    with pytest.raises(ValueError, match="whole-minute"):
        format_clock(END_OF_DAY, is_end=False)


# --- JSON --------------------------------------------------------------------------------------


def test_json_is_read_into_values() -> None:
    assert availability_from_json(SAMPLE_JSON) == SAMPLE


def test_json_is_written_in_the_spec_shape() -> None:
    assert availability_to_json(SAMPLE) == SAMPLE_JSON


def test_json_output_is_sorted_by_weekday_start_and_date() -> None:
    shuffled = Availability(
        weekly=tuple(reversed(SAMPLE.weekly)),
        overrides=(
            DateOverride(
                date(2026, 12, 25), (Window(time(15), time(16)), Window(time(8), time(9)))
            ),
            DateOverride(date(2026, 12, 24), ()),
        ),
    )
    written = availability_to_json(shuffled)
    assert [(w["weekday"], w["start"]) for w in written["weekly"]] == [
        ("monday", "09:00"),
        ("monday", "13:00"),
        ("friday", "20:00"),
    ]
    assert [o["date"] for o in written["overrides"]] == ["2026-12-24", "2026-12-25"]
    assert [w["start"] for w in written["overrides"][1]["windows"]] == ["08:00", "15:00"]


def test_missing_lists_are_empty() -> None:
    assert availability_from_json({}) == Availability.empty()
    assert availability_to_json(Availability.empty()) == {"weekly": [], "overrides": []}


@pytest.mark.parametrize(
    ("doc", "detail"),
    [
        (
            {"weekly": [{"weekday": "funday", "start": "09:00", "end": "10:00"}]},
            "weekly[0].weekday: 'funday' is not a weekday; use one of monday, tuesday, wednesday, "
            "thursday, friday, saturday, sunday.",
        ),
        (
            {"weekly": [{"weekday": "Monday", "start": "09:00", "end": "10:00"}]},
            "weekly[0].weekday: 'Monday' is not a weekday; use one of monday, tuesday, wednesday, "
            "thursday, friday, saturday, sunday.",
        ),
        (
            {"weekly": [{"weekday": "monday", "start": "9am", "end": "10:00"}]},
            "weekly[0].start: '9am' is not a time of day; write it as HH:MM from 00:00 to 23:59.",
        ),
        (
            {"weekly": [{"weekday": "monday", "start": "24:00", "end": "24:00"}]},
            "weekly[0].start: '24:00' is not a time of day; write it as HH:MM from 00:00 to 23:59.",
        ),
        (
            {"weekly": [{"weekday": "monday", "start": "09:00", "end": "24:30"}]},
            "weekly[0].end: '24:30' is not a time of day; write it as HH:MM from 00:00 to 24:00.",
        ),
        (
            {"overrides": [{"date": "2026-02-30", "windows": []}]},
            "overrides[0].date: '2026-02-30' is not a date; write it as YYYY-MM-DD, e.g. "
            "2026-12-24.",
        ),
        (
            {"overrides": [{"date": "24.12.2026", "windows": []}]},
            "overrides[0].date: '24.12.2026' is not a date; write it as YYYY-MM-DD, e.g. "
            "2026-12-24.",
        ),
        (
            {"overrides": [{"date": "2026-12-24", "windows": [{"start": "10:00", "end": "1"}]}]},
            "overrides[0].windows[0].end: '1' is not a time of day; write it as HH:MM from 00:00 "
            "to 24:00.",
        ),
        ({"weekly": {}}, "availability.weekly must be a list, not {}."),
        ({"overrides": "none"}, "availability.overrides must be a list, not 'none'."),
        ({"weekly": [7]}, "weekly[0] must be an object, not 7."),
        (
            {"weekly": [{"weekday": "monday", "start": "09:00"}]},
            "weekly[0].end is missing.",
        ),
        (
            {"weekly": [{"weekday": "monday", "start": 900, "end": "10:00"}]},
            "weekly[0].start must be a string, not 900.",
        ),
        (
            {"overrides": [{"date": "2026-12-24"}], "weekly": []},
            "overrides[0].windows is missing.",
        ),
        (
            {"weekly": [], "overides": []},
            "availability has unknown field 'overides'; expected only overrides, weekly.",
        ),
        (
            {"weekly": [{"weekday": "monday", "start": "09:00", "end": "10:00", "tz": "UTC"}]},
            "weekly[0] has unknown field 'tz'; expected only end, start, weekday.",
        ),
        (
            {
                "overrides": [
                    {
                        "date": "2026-12-24",
                        "windows": [{"weekday": "monday", "start": "09:00", "end": "10:00"}],
                    }
                ]
            },
            "overrides[0].windows[0] has unknown field 'weekday'; expected only end, start.",
        ),
        (
            {"weekly": [{"weekday": "x" * 100, "start": "09:00", "end": "10:00"}]},
            f"weekly[0].weekday: '{'x' * 36}... is not a weekday; use one of monday, tuesday, "
            "wednesday, thursday, friday, saturday, sunday.",
        ),
    ],
)
def test_json_that_cannot_be_read_is_refused(doc: dict[str, Any], detail: str) -> None:
    with pytest.raises(ValidationProblem) as refused:
        availability_from_json(doc)
    assert refused.value.detail == detail


def test_missing_override_windows_are_refused_not_read_as_a_day_off() -> None:
    # A forgotten "windows" key must not silently become a day off.
    with pytest.raises(ValidationProblem, match="windows is missing"):
        availability_from_json({"overrides": [{"date": "2026-12-24"}]})


minutes_of_day = st.integers(0, 96).map(
    lambda n: END_OF_DAY if n == 96 else time(n // 4, n % 4 * 15)
)


@st.composite
def day_windows(draw: st.DrawFn) -> tuple[Window, ...]:
    """Non-overlapping windows of one day, from sorted distinct boundaries taken in pairs."""
    bounds = sorted(draw(st.sets(st.integers(0, 96), max_size=8)))
    clock = [END_OF_DAY if n == 96 else time(n // 4, n % 4 * 15) for n in bounds]
    return tuple(Window(a, b) for a, b in zip(clock[::2], clock[1::2], strict=False))


@st.composite
def valid_availabilities(draw: st.DrawFn) -> Availability:
    weekly = tuple(
        WeeklyWindow(weekday, w.start, w.end) for weekday in range(7) for w in draw(day_windows())
    )
    dates = draw(
        st.sets(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)), max_size=5)
    )
    overrides = tuple(DateOverride(day, draw(day_windows())) for day in dates)
    return Availability(
        weekly=tuple(draw(st.permutations(weekly))),
        overrides=tuple(draw(st.permutations(overrides))),
    )


def canonical(av: Availability) -> Availability:
    return Availability(
        weekly=tuple(sorted(av.weekly, key=lambda w: (w.weekday, w.start, w.end))),
        overrides=tuple(
            DateOverride(o.date, tuple(sorted(o.windows, key=lambda w: (w.start, w.end))))
            for o in sorted(av.overrides, key=lambda o: o.date)
        ),
    )


@pytest.mark.slow
@given(valid_availabilities())
def test_json_round_trip_keeps_everything(av: Availability) -> None:
    validate_availability(av)
    written = availability_to_json(av)
    assert availability_from_json(written) == canonical(av)
    assert availability_to_json(availability_from_json(written)) == written


# --- validation --------------------------------------------------------------------------------


def weekly(*windows: tuple[int, time, time]) -> Availability:
    return Availability(weekly=tuple(WeeklyWindow(*w) for w in windows), overrides=())


def override(day: date, *windows: tuple[time, time]) -> DateOverride:
    return DateOverride(day, tuple(Window(*w) for w in windows))


def test_sound_availability_is_accepted_and_offers_every_window() -> None:
    validate_availability(SAMPLE)
    christmas_eve = date(2026, 12, 24)
    monday_hours = [
        start.astimezone(BERLIN).hour for start in starts(slots_on(SAMPLE, BERLIN, MONDAY))
    ]
    assert monday_hours == [9, 10, 11, 13, 14, 15, 16]  # 09:00-12:00 and 13:00-17:30
    assert starts(slots_on(SAMPLE, BERLIN, christmas_eve)) == [utc(12, 24, 9)]
    assert slots_on(SAMPLE, BERLIN, christmas_eve + timedelta(days=1)) == []


def test_no_availability_is_accepted_and_offers_nothing() -> None:
    validate_availability(Availability.empty())
    assert slots_on(Availability.empty(), BERLIN, MONDAY) == []


def test_touching_windows_are_accepted_and_each_is_bookable() -> None:
    weekly_touching = weekly((0, time(9), time(10)), (0, time(10), time(11)))
    override_touching = Availability(
        (), (override(MONDAY, (time(10), time(11)), (time(9), time(10))),)
    )
    for av in (weekly_touching, override_touching):
        validate_availability(av)
        assert starts(slots_on(av, BERLIN, MONDAY)) == [utc(11, 16, 8), utc(11, 16, 9)]


def test_the_same_hours_on_different_weekdays_are_accepted_for_each_day() -> None:
    av = weekly((0, time(9), time(10)), (1, time(9), time(10)))
    validate_availability(av)
    tuesday = MONDAY + timedelta(days=1)
    slots = free_slots(av, BERLIN, MONDAY, tuesday, HOUR, HOUR, (), LONG_AGO)
    assert starts(slots) == [utc(11, 16, 8), utc(11, 17, 8)]


@pytest.mark.parametrize(
    ("av", "detail"),
    [
        (
            weekly((0, time(12), time(11))),
            "The monday window 12:00-11:00 must end after it starts.",
        ),
        (
            weekly((2, time(9), time(9))),
            "The wednesday window 09:00-09:00 must end after it starts.",
        ),
        (
            weekly((0, time(9), time(12)), (1, time(8), time(9)), (0, time(11), time(13))),
            "The monday windows 09:00-12:00 and 11:00-13:00 overlap; windows of one day may touch "
            "but not overlap.",
        ),
        (
            weekly((6, time(20), END_OF_DAY), (6, time(8), time(21))),
            "The sunday windows 08:00-21:00 and 20:00-24:00 overlap; windows of one day may touch "
            "but not overlap.",
        ),
        (
            weekly((0, time(9), time(12)), (0, time(10), time(11))),
            "The monday windows 09:00-12:00 and 10:00-11:00 overlap; windows of one day may touch "
            "but not overlap.",
        ),
        (
            Availability((), (override(date(2026, 12, 24), (time(11), time(10))),)),
            "The 2026-12-24 window 11:00-10:00 must end after it starts.",
        ),
        (
            Availability(
                (),
                (override(date(2026, 12, 24), (time(10), time(11)), (time(10, 30), time(12))),),
            ),
            "The 2026-12-24 windows 10:00-11:00 and 10:30-12:00 overlap; windows of one day may "
            "touch but not overlap.",
        ),
        (
            Availability(
                (),
                (override(date(2026, 12, 24)), override(date(2026, 12, 24), (time(9), time(10)))),
            ),
            "The date 2026-12-24 has more than one override; give each date a single override "
            "with all its windows.",
        ),
        (
            weekly((7, time(9), time(10))),
            "Weekday 7 does not exist; use 0 (Monday) to 6 (Sunday).",
        ),
        (
            weekly((0, time(9, 0, 30), time(10))),
            "The monday window 09:00:30-10:00:00 must start and end on whole minutes of local "
            "wall-clock time.",
        ),
        (
            weekly((0, time(9, tzinfo=UTC), time(10))),
            "The monday window 09:00:00+00:00-10:00:00 must start and end on whole minutes of "
            "local wall-clock time.",
        ),
        (
            weekly((0, END_OF_DAY, END_OF_DAY)),
            "The monday window 23:59:59.999999-23:59:59.999999 must start and end on whole "
            "minutes of local wall-clock time.",
        ),
        (
            weekly(*((1, time(0, m), time(0, m + 1)) for m in range(MAX_WINDOWS_PER_DAY + 1))),
            "There are 51 windows on tuesday; at most 50 are allowed per day.",
        ),
        (
            Availability(
                (),
                (
                    override(
                        MONDAY,
                        *((time(0, m), time(0, m + 1)) for m in range(MAX_WINDOWS_PER_DAY + 1)),
                    ),
                ),
            ),
            "There are 51 windows on 2026-11-16; at most 50 are allowed per day.",
        ),
        (
            Availability(
                (),
                tuple(
                    override(date(2026, 1, 1) + timedelta(days=n)) for n in range(MAX_OVERRIDES + 1)
                ),
            ),
            "There are 367 date overrides; at most 366 are allowed.",
        ),
    ],
)
def test_unsound_availability_is_refused(av: Availability, detail: str) -> None:
    with pytest.raises(ValidationProblem) as refused:
        validate_availability(av)
    assert refused.value.detail == detail


def test_the_limits_themselves_are_allowed_and_in_effect() -> None:
    minute = timedelta(minutes=1)
    av = Availability(
        weekly=tuple(
            WeeklyWindow(0, time(m // 60, m % 60), time((m + 1) // 60, (m + 1) % 60))
            for m in range(MAX_WINDOWS_PER_DAY)
        ),
        overrides=tuple(
            override(date(2026, 1, 1) + timedelta(days=n)) for n in range(MAX_OVERRIDES)
        ),
    )
    validate_availability(av)
    # Every day from 2026-01-01 to 2027-01-01 is off; the Monday after offers every window.
    assert slots_on(av, BERLIN, MONDAY, duration=minute, step=minute) == []
    first_monday_after = date(2027, 1, 4)
    slots = slots_on(av, BERLIN, first_monday_after, duration=minute, step=minute)
    assert len(slots) == MAX_WINDOWS_PER_DAY


# --- windows of a day --------------------------------------------------------------------------


def test_a_day_without_override_has_its_weekday_windows_in_order() -> None:
    av = weekly((0, time(13), time(14)), (1, time(8), time(9)), (0, time(9), time(10)))
    assert av.windows_on(MONDAY) == (Window(time(9), time(10)), Window(time(13), time(14)))
    assert av.windows_on(MONDAY + timedelta(days=2)) == ()


def test_an_override_replaces_the_weekday_windows() -> None:
    av = Availability(SAMPLE.weekly, (override(MONDAY, (time(15), time(16))),))
    assert av.windows_on(MONDAY) == (Window(time(15), time(16)),)
    assert av.windows_on(MONDAY + timedelta(days=7)) == (
        Window(time(9), time(12)),
        Window(time(13), time(17, 30)),
    )


def test_an_override_without_windows_is_a_day_off() -> None:
    av = Availability(SAMPLE.weekly, (override(MONDAY),))
    assert av.windows_on(MONDAY) == ()
    assert not fits(av, BERLIN, local(BERLIN, MONDAY, 9), local(BERLIN, MONDAY, 10))
    assert slots_on(av, BERLIN, MONDAY) == []


# --- fitting a session -------------------------------------------------------------------------


MONDAY_MORNINGS = weekly((0, time(9), time(12)))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ((9, 0), (10, 0), True),
        ((11, 0), (12, 0), True),  # ends exactly at the window's end
        ((9, 0), (12, 0), True),
        ((11, 1), (12, 1), False),  # one minute past the end
        ((8, 59), (9, 59), False),  # starts before the window
        ((12, 0), (13, 0), False),
        ((10, 0), (10, 0), False),  # no time at all is no session
        ((11, 0), (10, 0), False),
    ],
)
def test_a_session_fits_only_wholly_inside_a_window(
    start: tuple[int, int], end: tuple[int, int], expected: bool
) -> None:
    starts_at = local(BERLIN, MONDAY, *start)
    ends_at = local(BERLIN, MONDAY, *end)
    assert fits(MONDAY_MORNINGS, BERLIN, starts_at, ends_at) is expected


def test_fits_compares_instants_whatever_offset_the_caller_uses() -> None:
    assert fits(MONDAY_MORNINGS, BERLIN, utc(11, 16, 10), utc(11, 16, 11))  # 11:00-12:00 CET
    assert not fits(MONDAY_MORNINGS, BERLIN, utc(11, 16, 11), utc(11, 16, 12))


def test_touching_windows_form_one_window() -> None:
    av = weekly((0, time(9), time(10)), (0, time(10), time(11)))
    assert fits(av, BERLIN, local(BERLIN, MONDAY, 9), local(BERLIN, MONDAY, 10))
    assert fits(av, BERLIN, local(BERLIN, MONDAY, 9, 30), local(BERLIN, MONDAY, 10, 30))
    assert not fits(av, BERLIN, local(BERLIN, MONDAY, 10, 30), local(BERLIN, MONDAY, 11, 30))


def test_windows_touching_across_midnight_form_one_window() -> None:
    av = weekly((0, time(22), END_OF_DAY), (1, time(0), time(2)))
    tuesday = MONDAY + timedelta(days=1)
    assert fits(av, BERLIN, local(BERLIN, MONDAY, 23, 30), local(BERLIN, tuesday, 0, 30))
    assert not fits(av, BERLIN, local(BERLIN, tuesday, 1, 30), local(BERLIN, tuesday, 2, 30))
    monday_slots = starts(slots_on(av, BERLIN, MONDAY, HOUR, HALF_HOUR))
    assert monday_slots[-1] == local(BERLIN, MONDAY, 23, 30)
    tuesday_slots = starts(slots_on(av, BERLIN, tuesday, HOUR, HALF_HOUR))
    # The Tuesday window offers its own starts only; Monday's 23:30 belongs to Monday.
    assert tuesday_slots == [
        local(BERLIN, tuesday, 0),
        local(BERLIN, tuesday, 0, 30),
        local(BERLIN, tuesday, 1),
    ]


def test_override_windows_are_the_only_windows_of_their_date() -> None:
    av = Availability(MONDAY_MORNINGS.weekly, (override(MONDAY, (time(15), time(16))),))
    assert fits(av, BERLIN, local(BERLIN, MONDAY, 15), local(BERLIN, MONDAY, 16))
    assert not fits(av, BERLIN, local(BERLIN, MONDAY, 9), local(BERLIN, MONDAY, 10))
    next_monday = MONDAY + timedelta(days=7)
    assert fits(av, BERLIN, local(BERLIN, next_monday, 9), local(BERLIN, next_monday, 10))


def test_naive_instants_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="starts_at must be a time-zone-aware datetime"):
        fits(MONDAY_MORNINGS, BERLIN, datetime(2026, 11, 16, 9), utc(11, 16, 10))  # noqa: DTZ001


def test_instants_at_the_edge_of_the_calendar_fit_nowhere() -> None:
    always = every_day(time(0), END_OF_DAY)
    latest = datetime.max.replace(tzinfo=UTC)
    assert not fits(always, ZoneInfo("Asia/Tokyo"), latest - HOUR, latest)
    assert window_instants(date.max, Window(time(0), END_OF_DAY), BERLIN) is None


# --- a window ending at 24:00 ------------------------------------------------------------------


def test_a_window_ending_at_24_00_ends_at_the_next_midnight() -> None:
    friday = date(2026, 11, 20)
    av = weekly((4, time(22), END_OF_DAY))
    assert window_instants(friday, Window(time(22), END_OF_DAY), BERLIN) == (
        utc(11, 20, 21),
        utc(11, 20, 23),
    )
    midnight = local(BERLIN, friday + timedelta(days=1), 0)
    assert fits(av, BERLIN, midnight - HOUR, midnight)
    assert not fits(av, BERLIN, midnight - HALF_HOUR, midnight + HALF_HOUR)
    assert starts(slots_on(av, BERLIN, friday)) == [utc(11, 20, 21), utc(11, 20, 22)]


def test_a_24_00_end_on_a_fall_back_at_midnight_keeps_the_repeated_hour() -> None:
    # Chile turns clocks back at 24:00 on 2026-04-04 to 23:00, so 23:00-24:00 happens twice.
    saturday = date(2026, 4, 4)
    av = weekly((5, time(22), END_OF_DAY))
    assert window_instants(saturday, Window(time(22), END_OF_DAY), SANTIAGO) == (
        utc(4, 5, 1),
        utc(4, 5, 4),
    )
    assert starts(slots_on(av, SANTIAGO, saturday)) == [utc(4, 5, 1), utc(4, 5, 2), utc(4, 5, 3)]
    second_eleven_pm = local(SANTIAGO, saturday, 23, fold=1)
    assert fits(av, SANTIAGO, second_eleven_pm, second_eleven_pm + HOUR)


def test_a_24_00_end_that_does_not_exist_ends_at_the_transition() -> None:
    # Chile turns clocks forward at 24:00 on 2026-09-05 to 01:00, so that midnight never happens.
    saturday = date(2026, 9, 5)
    assert window_instants(saturday, Window(time(22), END_OF_DAY), SANTIAGO) == (
        utc(9, 6, 2),
        utc(9, 6, 4),
    )
    sunday_window = window_instants(
        saturday + timedelta(days=1), Window(time(0), time(2)), SANTIAGO
    )
    assert sunday_window == (utc(9, 6, 4), utc(9, 6, 5))


# --- free slots --------------------------------------------------------------------------------


def test_free_slots_step_from_the_window_start() -> None:
    av = weekly((0, time(9), time(11)))
    slots = slots_on(av, BERLIN, MONDAY, duration=timedelta(minutes=45), step=HALF_HOUR)
    assert slots == [
        (utc(11, 16, 8), utc(11, 16, 8, 45)),
        (utc(11, 16, 8, 30), utc(11, 16, 9, 15)),
        (utc(11, 16, 9), utc(11, 16, 9, 45)),
    ]


def test_free_slots_leave_out_busy_times_but_may_touch_them() -> None:
    av = weekly((0, time(9), time(17)))
    busy = (
        (utc(11, 16, 10), utc(11, 16, 11)),  # 11:00-12:00 local
        (utc(11, 16, 12, 30), utc(11, 16, 13)),  # 13:30-14:00 local
        (utc(11, 16, 12, 45), utc(11, 16, 13, 15)),  # overlaps the one before
        (utc(11, 17, 8), utc(11, 17, 9)),  # another day
    )
    slots = slots_on(av, BERLIN, MONDAY, step=HALF_HOUR, busy=busy)
    assert [start.astimezone(BERLIN).strftime("%H:%M") for start in starts(slots)] == [
        "09:00",
        "09:30",
        "10:00",  # ends as the busy 11:00 begins
        "12:00",  # begins as the busy 11:00-12:00 ends
        "12:30",
        "14:30",  # 14:15 is not on the 30-minute grid
        "15:00",
        "15:30",
        "16:00",
    ]


def test_an_empty_busy_interval_takes_no_time() -> None:
    av = weekly((0, time(9), time(10)))
    busy = ((utc(11, 16, 8, 30), utc(11, 16, 8, 30)), (utc(11, 16, 8, 45), utc(11, 16, 8)))
    assert starts(slots_on(av, BERLIN, MONDAY, busy=busy)) == [utc(11, 16, 8)]


def test_free_slots_start_no_earlier_than_not_before() -> None:
    av = weekly((0, time(9), time(12)))
    slots = slots_on(av, BERLIN, MONDAY, not_before=utc(11, 16, 9, 10))
    assert starts(slots) == [utc(11, 16, 10)]
    assert starts(slots_on(av, BERLIN, MONDAY, not_before=utc(11, 16, 9))) == [
        utc(11, 16, 9),
        utc(11, 16, 10),
    ]


def test_free_slots_cover_every_day_of_the_range_once() -> None:
    av = Availability(
        weekly=(WeeklyWindow(0, time(9), time(10)), WeeklyWindow(2, time(9), time(10))),
        overrides=(override(MONDAY + timedelta(days=1), (time(14), time(15))),),
    )
    slots = free_slots(av, BERLIN, MONDAY, MONDAY + timedelta(days=7), HOUR, HOUR, (), LONG_AGO)
    assert starts(slots) == [utc(11, 16, 8), utc(11, 17, 13), utc(11, 18, 8), utc(11, 23, 8)]
    assert (
        free_slots(av, BERLIN, MONDAY, MONDAY - timedelta(days=1), HOUR, HOUR, (), LONG_AGO) == []
    )


def test_overlapping_windows_give_no_duplicate_slots() -> None:
    # Unvalidated input must still give a clean answer.
    av = weekly((0, time(9), time(11)), (0, time(9), time(10)))
    assert starts(slots_on(av, BERLIN, MONDAY)) == [utc(11, 16, 8), utc(11, 16, 9)]


def test_a_busy_time_past_the_window_ends_the_search_for_that_window() -> None:
    av = weekly((0, time(9), time(12)))
    busy = ((utc(11, 16, 9, 30), datetime.max.replace(tzinfo=UTC)),)  # from 10:30 local
    assert starts(slots_on(av, BERLIN, MONDAY, busy=busy)) == [utc(11, 16, 8)]


def test_free_slots_want_a_positive_duration_and_step() -> None:
    with pytest.raises(ValueError, match="positive"):
        slots_on(MONDAY_MORNINGS, BERLIN, MONDAY, duration=timedelta(0))
    with pytest.raises(ValueError, match="positive"):
        slots_on(MONDAY_MORNINGS, BERLIN, MONDAY, step=-HOUR)


# --- DST: clocks turned forward ----------------------------------------------------------------


def test_windows_keep_their_wall_clock_times_across_the_new_york_spring_change() -> None:
    av = every_day(time(9), time(10))
    slots = free_slots(av, NEW_YORK, date(2026, 3, 7), date(2026, 3, 9), HOUR, HOUR, (), LONG_AGO)
    assert starts(slots) == [utc(3, 7, 14), utc(3, 8, 13), utc(3, 9, 13)]
    assert fits(av, NEW_YORK, utc(3, 7, 14), utc(3, 7, 15))
    assert fits(av, NEW_YORK, utc(3, 9, 13), utc(3, 9, 14))
    assert not fits(av, NEW_YORK, utc(3, 9, 14), utc(3, 9, 15))


@pytest.mark.parametrize(
    ("zone", "day", "first_hour_utc"),
    [(NEW_YORK, date(2026, 3, 8), 6), (BERLIN, date(2026, 3, 29), 0)],
)
def test_skipped_local_times_are_never_offered(
    zone: ZoneInfo, day: date, first_hour_utc: int
) -> None:
    # A 01:00-04:00 window lasts two real hours on this day; 02:00-03:00 does not exist.
    av = every_day(time(1), time(4))
    slots = slots_on(av, zone, day, duration=HALF_HOUR, step=HALF_HOUR)
    assert [start.astimezone(zone).strftime("%H:%M") for start in starts(slots)] == [
        "01:00",
        "01:30",
        "03:00",
        "03:30",
    ]
    assert starts(slots)[0] == utc(day.month, day.day, first_hour_utc)
    # 01:30-03:00 local is half an hour of real time, which fits.
    assert fits(av, zone, local(zone, day, 1, 30), local(zone, day, 3))


def test_a_boundary_in_the_gap_moves_forward_to_the_transition() -> None:
    day = date(2026, 3, 8)  # New York skips 02:00-03:00; the transition is 07:00Z
    assert window_instants(day, Window(time(2, 30), time(4)), NEW_YORK) == (
        utc(3, 8, 7),
        utc(3, 8, 8),
    )
    assert window_instants(day, Window(time(1), time(2, 30)), NEW_YORK) == (
        utc(3, 8, 6),
        utc(3, 8, 7),
    )
    assert window_instants(day, Window(time(2), time(3)), NEW_YORK) is None
    assert slots_on(every_day(time(2), time(3)), NEW_YORK, day) == []


def test_a_half_hour_change_is_resolved_to_the_transition_too() -> None:
    # Lord Howe Island turns clocks forward from 02:00 to 02:30 on 2026-10-04 (15:30Z the day
    # before).
    day = date(2026, 10, 4)
    assert window_instants(day, Window(time(2, 15), time(3)), LORD_HOWE) == (
        utc(10, 3, 15, 30),
        utc(10, 3, 16),
    )


# --- DST: clocks turned back -------------------------------------------------------------------


def test_windows_keep_their_wall_clock_times_across_the_new_york_fall_change() -> None:
    av = every_day(time(9), time(10))
    slots = free_slots(
        av, NEW_YORK, date(2026, 10, 31), date(2026, 11, 2), HOUR, HOUR, (), LONG_AGO
    )
    assert starts(slots) == [utc(10, 31, 13), utc(11, 1, 14), utc(11, 2, 14)]


@pytest.mark.parametrize(
    ("zone", "day", "first_instant", "hour"),
    [
        (NEW_YORK, date(2026, 11, 1), utc(11, 1, 5), 1),  # 01:00-02:00 happens twice
        (BERLIN, date(2026, 10, 25), utc(10, 25, 0), 2),  # 02:00-03:00 happens twice
    ],
)
def test_the_repeated_hour_offers_both_instants(
    zone: ZoneInfo, day: date, first_instant: datetime, hour: int
) -> None:
    window = Window(time(hour), time(hour + 1))
    # The start reads as the first occurrence, the end as the second: two real hours.
    assert window_instants(day, window, zone) == (first_instant, first_instant + 2 * HOUR)
    av = every_day(window.start, window.end)
    slots = slots_on(av, zone, day)
    assert starts(slots) == [first_instant, first_instant + HOUR]
    assert [start.astimezone(zone).hour for start in starts(slots)] == [hour, hour]
    second = local(zone, day, hour, fold=1)
    assert fits(av, zone, second, second + HOUR)
    assert not fits(av, zone, second + HALF_HOUR, second + 3 * HALF_HOUR)


def test_an_ambiguous_end_reads_as_its_later_instant() -> None:
    day = date(2026, 11, 1)
    assert window_instants(day, Window(time(0), time(1, 30)), NEW_YORK) == (
        utc(11, 1, 4),
        utc(11, 1, 6, 30),
    )
    assert window_instants(day, Window(time(1, 30), time(3)), NEW_YORK) == (
        utc(11, 1, 5, 30),
        utc(11, 1, 8),
    )


# --- properties --------------------------------------------------------------------------------

ZONES = st.sampled_from([NEW_YORK, BERLIN, SANTIAGO, LORD_HOWE, ZoneInfo("Asia/Kolkata")])
TRANSITION_DAYS = [
    date(2026, 3, 8),
    date(2026, 11, 1),
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 4, 4),
    date(2026, 9, 5),
    date(2026, 4, 5),
    date(2026, 10, 4),
]
days = st.one_of(
    st.sampled_from(TRANSITION_DAYS),
    st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)),
).flatmap(lambda day: st.integers(-1, 1).map(lambda shift: day + timedelta(days=shift)))
any_windows = st.builds(Window, minutes_of_day, minutes_of_day)


@st.composite
def any_availabilities(draw: st.DrawFn) -> Availability:
    """Availability as stored or not: windows may overlap, touch or even be empty."""
    weekly = draw(
        st.lists(
            st.builds(lambda d, w: WeeklyWindow(d, w.start, w.end), st.integers(0, 6), any_windows),
            max_size=10,
        )
    )
    overrides = draw(
        st.lists(
            st.builds(DateOverride, days, st.lists(any_windows, max_size=3).map(tuple)),
            max_size=3,
        )
    )
    return Availability(tuple(weekly), tuple(overrides))


@st.composite
def busy_intervals(draw: st.DrawFn, around: date) -> tuple[tuple[datetime, datetime], ...]:
    origin = datetime.combine(around, time(0), tzinfo=UTC) - timedelta(days=1)
    intervals = draw(
        st.lists(
            st.tuples(st.integers(0, 4 * 24 * 4), st.integers(-1, 16)).map(
                lambda pair: (
                    origin + pair[0] * timedelta(minutes=15),
                    origin + (pair[0] + pair[1]) * timedelta(minutes=15),
                )
            ),
            max_size=12,
        )
    )
    return tuple(intervals)


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    """Half-open intervals share time; an empty interval shares none."""
    return max(a[0], b[0]) < min(a[1], b[1])


def reference_slots(
    av: Availability,
    zone: ZoneInfo,
    first_day: date,
    last_day: date,
    duration: timedelta,
    step: timedelta,
    busy: tuple[tuple[datetime, datetime], ...],
    not_before: datetime,
) -> list[tuple[datetime, datetime]]:
    """The slow, obvious reading of the free-slot rule: a slot may run into touching windows."""
    around = [
        instants
        for offset in range((last_day - first_day).days + 3)
        for window in av.windows_on(first_day + timedelta(days=offset - 1))
        if (instants := window_instants(first_day + timedelta(days=offset - 1), window, zone))
    ]
    found: set[tuple[datetime, datetime]] = set()
    day = first_day
    while day <= last_day:
        for window in av.windows_on(day):
            instants = window_instants(day, window, zone)
            if instants is None:
                continue
            reach = instants[1]
            while any(start <= reach < end for start, end in around):
                reach = max(end for start, end in around if start <= reach < end)
            start = instants[0]
            while start < instants[1] and start + duration <= reach:
                end = start + duration
                if start >= not_before and not any(
                    overlaps((start, end), interval) for interval in busy
                ):
                    found.add((start, end))
                start += step
        day += timedelta(days=1)
    return sorted(found)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    av=any_availabilities(),
    zone=ZONES,
    first_day=days,
    length=st.integers(0, 2),
    duration=st.sampled_from([15, 30, 45, 60, 90]).map(lambda m: timedelta(minutes=m)),
    step=st.sampled_from([10, 15, 30, 60]).map(lambda m: timedelta(minutes=m)),
    data=st.data(),
)
def test_every_free_slot_fits_and_avoids_busy_times(
    av: Availability,
    zone: ZoneInfo,
    first_day: date,
    length: int,
    duration: timedelta,
    step: timedelta,
    data: st.DataObject,
) -> None:
    last_day = first_day + timedelta(days=length)
    busy = data.draw(busy_intervals(first_day))
    not_before = datetime.combine(first_day, time(0), tzinfo=UTC) + timedelta(
        minutes=data.draw(st.integers(-24 * 60, 48 * 60))
    )
    slots = free_slots(av, zone, first_day, last_day, duration, step, busy, not_before)
    assert slots == reference_slots(av, zone, first_day, last_day, duration, step, busy, not_before)
    assert slots == sorted(set(slots))
    for start, end in slots:
        assert end - start == duration
        assert start >= not_before
        assert fits(av, zone, start, end)
        assert not any(overlaps((start, end), interval) for interval in busy)
        # A DST gap can push a window's start past local midnight, but never further.
        assert first_day <= start.astimezone(zone).date() <= last_day + timedelta(days=1)


@given(zone=ZONES, day=days, window=any_windows)
def test_window_instants_keep_wall_clock_times_that_exist(
    zone: ZoneInfo, day: date, window: Window
) -> None:
    instants = window_instants(day, window, zone)
    if instants is None:
        return
    start, end = instants
    assert start < end
    assert start.tzinfo is UTC
    wall_start = datetime.combine(day, window.start)
    shown = start.astimezone(zone).replace(tzinfo=None)
    # A start that exists shows its own wall-clock time; one in a gap shows the gap's end,
    # which is later.
    assert shown >= wall_start
    if (
        datetime.combine(day, window.start, tzinfo=zone)
        .astimezone(UTC)
        .astimezone(zone)
        .replace(tzinfo=None)
        == wall_start
    ):
        assert shown == wall_start


def test_stored_availability_is_parsed_once_per_document() -> None:
    text = '{"weekly": [{"weekday": "monday", "start": "09:00", "end": "12:00"}]}'
    parsed = availability_from_text(text)
    assert parsed == availability_from_json(
        {"weekly": [{"weekday": "monday", "start": "09:00", "end": "12:00"}]}
    )
    assert availability_from_text(text) is parsed
    with pytest.raises(ValidationProblem):
        availability_from_text("[]")


@given(av=any_availabilities(), day=days)
def test_the_windows_of_a_day_come_from_its_override_else_its_weekday(
    av: Availability, day: date
) -> None:
    overridden = [o.windows for o in av.overrides if o.date == day]
    expected = (
        overridden[0]
        if overridden
        else tuple(Window(w.start, w.end) for w in av.weekly if w.weekday == day.weekday())
    )
    assert av.windows_on(day) == tuple(sorted(expected, key=lambda w: (w.start, w.end)))


def test_availability_is_compared_and_hashed_by_its_windows_alone() -> None:
    again = Availability(weekly=tuple(SAMPLE.weekly), overrides=tuple(SAMPLE.overrides))
    assert again == SAMPLE
    assert hash(again) == hash(SAMPLE)
    assert repr(again) == repr(SAMPLE)
    assert again != Availability(weekly=SAMPLE.weekly[:1], overrides=SAMPLE.overrides)
    assert "_weekly_by_day" not in repr(SAMPLE)
