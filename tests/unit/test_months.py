"""Months as "YYYY-MM" strings, seen from a coachee's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from session_api.domain.months import (
    LAST_MONTH,
    add_months,
    month_end_utc,
    month_of,
    month_of_date,
    month_start_utc,
    month_title,
    months_between,
    parse_month,
)
from session_api.errors import ValidationProblem

LOS_ANGELES = ZoneInfo("America/Los_Angeles")

months = st.integers(0, 200 * 12 - 1).map(lambda n: add_months("1900-01", n))
instants = st.datetimes(
    min_value=datetime(1900, 2, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2099, 11, 30),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@pytest.mark.parametrize("text", ["2026-12", "2027-01", "0001-01", "9999-12"])
def test_parse_month_accepts_year_dash_month(text: str) -> None:
    assert parse_month(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-13",
        "2026-00",
        "0000-05",
        "2026-1",
        "26-01",
        "2026/01",
        "2026-12-01",
        " 2026-01",
        "2026-01\n",
        "december",
        "\uff12\uff10\uff12\uff16-12",  # full-width digits match \d but are no month
    ],
)
def test_parse_month_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValidationProblem) as refused:
        parse_month(text)
    assert refused.value.detail == f"{text!r} is not a month; write it as YYYY-MM, e.g. 2026-12."


def test_month_follows_the_coachees_zone_not_utc() -> None:
    late_on_new_years_eve = datetime(2026, 12, 31, 23, 30, tzinfo=LOS_ANGELES)

    assert late_on_new_years_eve.astimezone(UTC).date() == date(2027, 1, 1)
    assert month_of(late_on_new_years_eve, LOS_ANGELES) == "2026-12"
    assert month_of(late_on_new_years_eve, ZoneInfo("UTC")) == "2027-01"
    assert month_of(late_on_new_years_eve.astimezone(UTC), LOS_ANGELES) == "2026-12"


def test_month_of_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        month_of(datetime(2026, 12, 31, 23, 30), LOS_ANGELES)  # noqa: DTZ001


def test_month_of_date() -> None:
    assert month_of_date(date(2026, 2, 28)) == "2026-02"
    assert month_of_date(date(5, 7, 1)) == "0005-07"


@pytest.mark.parametrize(
    ("month", "n", "expected"),
    [
        ("2026-11", 0, "2026-11"),
        ("2026-11", 1, "2026-12"),
        ("2026-11", 2, "2027-01"),
        ("2026-01", -1, "2025-12"),
        ("2026-05", 24, "2028-05"),
        ("2026-05", -17, "2024-12"),
    ],
)
def test_add_months(month: str, n: int, expected: str) -> None:
    assert add_months(month, n) == expected


@pytest.mark.parametrize(("month", "n"), [(LAST_MONTH, 1), ("0001-01", -1)])
def test_add_months_refuses_to_leave_years_1_to_9999(month: str, n: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        add_months(month, n)


def test_add_months_refuses_a_malformed_month() -> None:
    with pytest.raises(ValidationProblem):
        add_months("2026-13", 1)


def test_months_between_includes_both_ends() -> None:
    assert months_between("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert months_between("2026-11", "2026-11") == ["2026-11"]
    assert months_between("2027-01", "2026-12") == []
    assert len(months_between("2026-01", "2027-12")) == 24


def test_month_bounds_in_los_angeles() -> None:
    assert month_start_utc("2026-12", LOS_ANGELES) == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert month_end_utc("2026-12", LOS_ANGELES) == datetime(2027, 1, 1, 8, tzinfo=UTC)
    # Daylight saving time starts in March: April begins an hour earlier in UTC.
    assert month_end_utc("2026-03", LOS_ANGELES) == datetime(2026, 4, 1, 7, tzinfo=UTC)


def test_month_start_when_clocks_skip_midnight() -> None:
    asuncion = ZoneInfo("America/Asuncion")  # 2023-10-01 00:00 became 01:00

    start = month_start_utc("2023-10", asuncion)

    assert start == datetime(2023, 10, 1, 4, tzinfo=UTC)
    assert start.astimezone(asuncion).replace(tzinfo=None) == datetime(2023, 10, 1, 1)  # noqa: DTZ001
    assert month_of(start - timedelta(microseconds=1), asuncion) == "2023-09"


def test_month_start_when_midnight_happens_twice() -> None:
    havana = ZoneInfo("America/Havana")  # 2026-11-01 01:00 goes back to 00:00

    start = month_start_utc("2026-11", havana)

    assert start == datetime(2026, 11, 1, 4, tzinfo=UTC)
    assert month_of(start - timedelta(microseconds=1), havana) == "2026-10"


def test_month_title() -> None:
    assert month_title("2026-12") == "December 2026"
    assert month_title("2027-01") == "January 2027"


@settings(deadline=None)
@given(instant=instants, zone=st.timezones())
def test_every_instant_lies_within_the_bounds_of_its_month(
    instant: datetime, zone: ZoneInfo
) -> None:
    month = month_of(instant, zone)

    assert month_start_utc(month, zone) <= instant < month_end_utc(month, zone)


@settings(deadline=None)
@given(month=months, zone=st.timezones())
def test_a_month_starts_exactly_where_the_previous_one_ends(month: str, zone: ZoneInfo) -> None:
    start = month_start_utc(month, zone)

    assert start.tzinfo is UTC
    assert month_of(start, zone) == month
    assert month_of(start - timedelta(microseconds=1), zone) == add_months(month, -1)
    assert month_end_utc(add_months(month, -1), zone) == start


@given(month=months, n=st.integers(-1200, 1200))
def test_add_months_round_trips_and_keeps_order(month: str, n: int) -> None:
    later = add_months(month, n)

    assert add_months(later, -n) == month
    assert (later > month) == (n > 0)
    assert len(months_between(min(month, later), max(month, later))) == abs(n) + 1


@given(day=st.dates(date(1, 1, 1), date(9999, 12, 31)))
def test_month_of_date_is_a_valid_month(day: date) -> None:
    month = month_of_date(day)

    assert parse_month(month) == month
    assert month_title(month).endswith(str(day.year))
