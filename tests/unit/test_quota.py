"""The monthly allowance, the default slot, "Session N of M" and status transitions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from session_api.domain.months import LAST_MONTH, add_months, months_between
from session_api.domain.quota import (
    DefaultSlot,
    MonthUsage,
    ProgramWindow,
    SessionAction,
    SessionStatus,
    default_slot,
    ensure_can,
    ensure_fits,
    ensure_future,
    ensure_started,
    late_cancel_status,
    next_available_month,
    session_numbers,
)
from session_api.errors import InThePast, InvalidTransition, MonthlyLimitReached

S = SessionStatus
NOW = datetime(2026, 11, 10, 9, tzinfo=UTC)
ACTIONS: tuple[SessionAction, ...] = ("confirm", "reschedule", "cancel", "complete", "no_show")

months = st.integers(0, 36).map(lambda n: add_months("2026-01", n))
used_by_months = st.dictionaries(months, st.integers(0, 4), max_size=40)
limits = st.integers(1, 3)


# Maia's program allows 2 sessions a month; today is in November 2026 (SPEC 1.3).
MAIA_LIMIT = 2
MAIA_SESSIONS: dict[str, list[SessionStatus]] = {
    "2026-11": [S.COMPLETED, S.COMPLETED],
    "2026-12": [S.SCHEDULED, S.SCHEDULED],
    "2027-01": [S.SCHEDULED, S.SCHEDULED],
    "2027-02": [S.REQUESTED],
}


def maia_usage(
    month: str, sessions: Mapping[str, list[SessionStatus]] = MAIA_SESSIONS
) -> MonthUsage:
    return MonthUsage(month, MAIA_LIMIT, Counter(sessions.get(month, [])))


def maia_used(sessions: Mapping[str, list[SessionStatus]] = MAIA_SESSIONS) -> dict[str, int]:
    return {month: maia_usage(month, sessions).used for month in sessions}


def maia_fits(month: str, moving_from_month: str | None = None) -> None:
    ensure_fits(
        month=month,
        usage=maia_usage(month),
        moving_from_month=moving_from_month,
        next_available=next_available_month(month, maia_used(), MAIA_LIMIT, None),
        coachee_name="Maia",
    )


def test_maia_default_slot_is_february_session_2_of_2() -> None:
    slot = default_slot("2026-11", ProgramWindow(None, None), maia_used(), MAIA_LIMIT)

    assert slot == DefaultSlot("2027-02", session_number=2, sessions_per_month=2)
    assert slot.label == "Session 2 of 2"


def test_maia_cannot_schedule_a_third_session_in_december() -> None:
    with pytest.raises(MonthlyLimitReached) as refused:
        maia_fits("2026-12")

    assert refused.value.detail == (
        "Maia already has 2 of 2 sessions in December 2026; this would be session 3. "
        "The next month with room is February 2027."
    )
    assert refused.value.extensions == {
        "month": "2026-12",
        "limit": 2,
        "used": 2,
        "usage": {
            "requested": 0,
            "scheduled": 2,
            "completed": 0,
            "no_show": 0,
            "late_cancelled": 0,
            "cancelled": 0,
        },
        "attempted_session_number": 3,
        "next_available_month": "2027-02",
    }


def test_maia_december_session_moves_within_december_or_to_february_but_not_january() -> None:
    maia_fits("2026-12", moving_from_month="2026-12")
    maia_fits("2027-02", moving_from_month="2026-12")

    with pytest.raises(MonthlyLimitReached) as refused:
        maia_fits("2027-01", moving_from_month="2026-12")
    assert refused.value.extensions["attempted_session_number"] == 3
    assert refused.value.extensions["next_available_month"] == "2027-02"


def test_maia_december_has_room_again_after_a_cancel() -> None:
    sessions = {**MAIA_SESSIONS, "2026-12": [S.SCHEDULED, S.CANCELLED]}

    ensure_fits(
        month="2026-12",
        usage=maia_usage("2026-12", sessions),
        moving_from_month=None,
        next_available=None,
        coachee_name="Maia",
    )
    assert default_slot("2026-11", ProgramWindow(None, None), maia_used(sessions), 2) == (
        DefaultSlot("2026-12", 2, 2)
    )


def test_refusal_says_when_no_later_month_has_room() -> None:
    usage = MonthUsage("2027-03", 2, {"completed": 1, "late_cancelled": 1, "no_show": 1})

    with pytest.raises(MonthlyLimitReached) as refused:
        ensure_fits(
            month="2027-03",
            usage=usage,
            moving_from_month="2027-02",
            next_available=None,
            coachee_name="Maia",
        )

    assert refused.value.detail == (
        "Maia already has 3 of 2 sessions in March 2027; this would be session 4. "
        "No later month within the program has room."
    )
    assert refused.value.extensions["next_available_month"] is None


def test_month_usage_counts_everything_but_cancelled() -> None:
    usage = MonthUsage("2026-12", 3, {"requested": 1, "no_show": 1, "cancelled": 4})

    assert (usage.used, usage.remaining, usage.full) == (2, 1, False)
    assert usage.as_counts() == {
        "requested": 1,
        "scheduled": 0,
        "completed": 0,
        "no_show": 1,
        "late_cancelled": 0,
        "cancelled": 4,
    }
    assert list(usage.as_counts()) == [status.value for status in SessionStatus]


def test_month_usage_after_the_limit_was_lowered() -> None:
    usage = MonthUsage("2026-12", 1, Counter([S.SCHEDULED, S.LATE_CANCELLED]))

    assert (usage.used, usage.remaining, usage.full) == (2, 0, True)


def test_empty_month_usage() -> None:
    usage = MonthUsage("2026-12", 2, {})

    assert (usage.used, usage.remaining, usage.full) == (0, 2, False)
    assert set(usage.as_counts().values()) == {0}


@pytest.mark.parametrize(
    ("status", "takes_a_place"),
    [
        ("requested", True),
        ("scheduled", True),
        ("completed", True),
        ("no_show", True),
        ("late_cancelled", True),
        ("cancelled", False),
    ],
)
def test_only_a_cancelled_session_gives_its_place_back(status: str, takes_a_place: bool) -> None:
    usage = MonthUsage("2026-12", 1, {SessionStatus(status): 1})

    assert usage.full is takes_a_place


def test_program_window_from_dates() -> None:
    window = ProgramWindow.from_dates(date(2026, 11, 15), date(2027, 3, 31))

    assert window == ProgramWindow("2026-11", "2027-03")
    assert ProgramWindow.from_dates(None, None) == ProgramWindow(None, None)


def test_default_slot_waits_for_the_program_to_start() -> None:
    program = ProgramWindow("2027-01", "2027-06")

    assert default_slot("2026-11", program, {"2027-01": 1}, 2) == DefaultSlot("2027-01", 2, 2)


def test_no_default_slot_when_the_program_is_full_or_over() -> None:
    program = ProgramWindow("2026-10", "2026-12")
    full = {"2026-11": 2, "2026-12": 3}

    assert default_slot("2026-11", program, full, 2) is None
    assert default_slot("2027-01", program, {}, 2) is None
    assert default_slot("2026-11", ProgramWindow(None, None), {}, 0) is None


def test_next_available_month_skips_full_months() -> None:
    used = {"2026-12": 2, "2027-01": 2, "2027-02": 1}

    assert next_available_month("2026-11", used, 2, None) == "2027-02"
    assert next_available_month("2026-12", used, 2, None) == "2027-02"
    assert next_available_month("2026-12", used, 1, None) == "2027-03"
    assert next_available_month("2026-12", used, 1, "2027-02") is None
    assert next_available_month("2026-12", used, 2, "2026-12") is None
    assert next_available_month(LAST_MONTH, {}, 2, None) is None
    assert next_available_month("9999-11", {"9999-12": 2}, 2, None) is None


@pytest.mark.parametrize(
    ("starts_in", "late_cancel_hours", "expected"),
    [
        (timedelta(minutes=5), 0, S.CANCELLED),
        (timedelta(hours=24), 24, S.CANCELLED),
        (timedelta(hours=24) - timedelta(seconds=1), 24, S.LATE_CANCELLED),
        (timedelta(days=3), 24, S.CANCELLED),
        (-timedelta(hours=1), 24, S.LATE_CANCELLED),
    ],
)
def test_late_cancel_status(
    starts_in: timedelta, late_cancel_hours: int, expected: SessionStatus
) -> None:
    assert late_cancel_status(NOW, NOW + starts_in, late_cancel_hours) is expected


ALLOWED: dict[SessionAction, set[SessionStatus]] = {
    "confirm": {S.REQUESTED},
    "reschedule": {S.REQUESTED, S.SCHEDULED},
    "cancel": {S.REQUESTED, S.SCHEDULED},
    "complete": {S.SCHEDULED},
    "no_show": {S.SCHEDULED},
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("status", list(SessionStatus))
def test_transitions(action: SessionAction, status: SessionStatus) -> None:
    if status in ALLOWED[action]:
        ensure_can(action, status)
    else:
        with pytest.raises(InvalidTransition) as refused:
            ensure_can(action, status)
        assert refused.value.extensions == {"action": action, "session_status": status.value}


@pytest.mark.parametrize(
    ("action", "status", "detail"),
    [
        ("reschedule", S.COMPLETED, "A completed session cannot be rescheduled."),
        ("cancel", S.CANCELLED, "A cancelled session cannot be cancelled."),
        ("complete", S.REQUESTED, "A requested session cannot be completed."),
        ("no_show", S.LATE_CANCELLED, "A late-cancelled session cannot be marked as a no-show."),
        ("confirm", S.NO_SHOW, "A session marked as a no-show cannot be confirmed."),
    ],
)
def test_transition_refusals_read_well(
    action: SessionAction, status: SessionStatus, detail: str
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        ensure_can(action, status)
    assert refused.value.detail == detail


def test_a_session_can_only_be_completed_after_it_starts() -> None:
    ensure_started(NOW, NOW, "complete")
    ensure_started(NOW, NOW - timedelta(hours=1), "no_show")

    with pytest.raises(InvalidTransition, match="can only be completed after it starts"):
        ensure_started(NOW, NOW + timedelta(minutes=1), "complete")
    with pytest.raises(InvalidTransition, match="can only be marked as a no-show after it starts"):
        ensure_started(NOW, NOW + timedelta(minutes=1), "no_show")


def test_a_session_must_start_in_the_future() -> None:
    ensure_future(NOW, NOW + timedelta(seconds=1))

    for starts_at in (NOW, NOW - timedelta(days=1)):
        with pytest.raises(InThePast) as refused:
            ensure_future(NOW, starts_at)
        assert refused.value.extensions == {"starts_at": starts_at.isoformat()}


def test_session_numbers_rank_by_start_then_id() -> None:
    first, tied_low, tied_high, cancelled = (UUID(int=n) for n in (9, 1, 2, 0))
    later = NOW + timedelta(days=7)

    numbers = session_numbers(
        [
            (tied_high, later, S.SCHEDULED),
            (cancelled, NOW - timedelta(days=1), S.CANCELLED),
            (first, NOW, S.COMPLETED),
            (tied_low, later, S.LATE_CANCELLED),
        ]
    )

    assert numbers == {first: 1, tied_low: 2, tied_high: 3, cancelled: None}
    assert session_numbers([]) == {}


programs = st.builds(ProgramWindow, st.none() | months, st.none() | months)


@pytest.mark.slow
@given(today=months, program=programs, used=used_by_months, limit=limits)
def test_default_slot_is_the_earliest_month_with_room(
    today: str, program: ProgramWindow, used: dict[str, int], limit: int
) -> None:
    slot = default_slot(today, program, used, limit)

    start = max(today, program.first_month or today)
    last = program.last_month or add_months(max([start, *used]), 1)
    with_room = [m for m in months_between(start, last) if used.get(m, 0) < limit]
    if not with_room:
        assert slot is None
        return
    assert slot == DefaultSlot(with_room[0], used.get(with_room[0], 0) + 1, limit)
    assert slot.month >= today
    assert used.get(slot.month, 0) < limit
    if program.first_month is not None:
        assert slot.month >= program.first_month


@given(refused=months, used=used_by_months, limit=limits, last=st.none() | months)
def test_next_available_month_is_later_and_has_room(
    refused: str, used: dict[str, int], limit: int, last: str | None
) -> None:
    month = next_available_month(refused, used, limit, last)

    if month is None:
        assert last is not None
        assert all(used.get(m, 0) >= limit for m in months_between(add_months(refused, 1), last))
        return
    assert month > refused
    assert last is None or month <= last
    assert used.get(month, 0) < limit
    assert all(used.get(m, 0) >= limit for m in months_between(add_months(refused, 1), month)[:-1])


@given(
    sessions=st.lists(
        st.tuples(
            st.integers(0, 20),
            st.sampled_from([NOW + timedelta(hours=h) for h in range(4)]),
            st.sampled_from(SessionStatus),
        ),
        unique_by=lambda session: session[0],
    )
)
def test_session_numbers_run_from_1_without_gaps(
    sessions: list[tuple[int, datetime, SessionStatus]],
) -> None:
    numbers = session_numbers(sessions)

    assert numbers.keys() == {session_id for session_id, _, _ in sessions}
    counting = sorted(
        (starts_at, sid) for sid, starts_at, status in sessions if status != S.CANCELLED
    )
    assert [numbers[sid] for _, sid in counting] == list(range(1, len(counting) + 1))
    assert all(numbers[sid] is None for sid, _, status in sessions if status == S.CANCELLED)
