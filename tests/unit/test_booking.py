"""The booking rulebook, without a database: plain facts in, a placement or a refusal out."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from session_api.domain import booking
from session_api.domain.availability import END_OF_DAY, Availability, WeeklyWindow
from session_api.domain.booking import BookingFacts, Ledger, OpenSession, SessionFacts
from session_api.domain.quota import SessionStatus
from session_api.errors import (
    InvalidTransition,
    MonthlyLimitReached,
    OutsideAvailability,
    TimeConflict,
)

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
ALWAYS = Availability(tuple(WeeklyWindow(day, time(0), END_OF_DAY) for day in range(7)), ())
FACTS = BookingFacts(
    coachee_id=uuid.uuid4(),
    coach_id=uuid.uuid4(),
    coachee_name="Maia",
    coachee_timezone="Europe/Berlin",
    coachee_status="active",
    sessions_per_month=2,
    session_minutes=60,
    starts_on=None,
    ends_on=None,
    late_cancel_hours=24,
    coach_timezone="Europe/Berlin",
    availability=ALWAYS,
)
EMPTY = Ledger({}, [])


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)


def session(starts_at: datetime, status: SessionStatus = SessionStatus.SCHEDULED) -> SessionFacts:
    return SessionFacts(
        id=uuid.uuid4(),
        coachee_coach_id=FACTS.coach_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        month=f"{starts_at:%Y-%m}",
        status=status,
        version=1,
        sequence=0,
        booking=FACTS,
    )


def new(
    starts_at: datetime,
    ledger: Ledger = EMPTY,
    *,
    facts: BookingFacts = FACTS,
    by_coachee: bool = False,
    override: bool = False,
) -> booking.Placement:
    asked = booking.NewBooking(
        status=SessionStatus.SCHEDULED,
        now=NOW,
        by_coachee=by_coachee,
        override_availability=override,
    )
    return booking.place_new(facts, starts_at, 60, asked, ledger)


def move(
    current: SessionFacts, starts_at: datetime, minutes: int | None
) -> booking.Placement | None:
    return booking.place_move(
        current,
        starts_at,
        minutes,
        now=NOW,
        by_coachee=False,
        override_availability=False,
        ledger=EMPTY,
    )


def test_a_full_month_refuses_with_every_fact() -> None:
    ledger = Ledger({"2026-12": {"scheduled": 2}, "2027-01": {"requested": 2}}, [])
    with pytest.raises(MonthlyLimitReached) as refused:
        new(at(17), ledger)
    facts = refused.value.extensions
    assert (facts["used"], facts["attempted_session_number"]) == (2, 3)
    assert facts["next_available_month"] == "2027-02"
    assert facts["usage"]["scheduled"] == 2


def test_a_batch_counts_its_earlier_occurrences_like_a_single_booking_would() -> None:
    asked = booking.NewBooking(
        status=SessionStatus.SCHEDULED, now=NOW, by_coachee=False, override_availability=False
    )
    verdicts = booking.plan_occurrences(FACTS, [at(1), at(8), at(15), at(15, 10)], 60, asked, EMPTY)
    assert [verdict.problem is None for verdict in verdicts] == [True, True, False, False]
    single = Ledger({"2026-12": {"scheduled": 2}}, [])
    with pytest.raises(MonthlyLimitReached) as alone:
        new(at(15), single)
    third = verdicts[2].problem
    assert third is not None
    assert (third.detail, third.extensions) == (alone.value.detail, alone.value.extensions)


def test_a_coachee_is_not_told_whose_session_blocks_the_coach() -> None:
    other = OpenSession(uuid.uuid4(), uuid.uuid4(), at(3), at(3, 11))
    ledger = Ledger({}, [other])
    with pytest.raises(TimeConflict) as hidden:
        new(at(3), ledger, by_coachee=True)
    assert hidden.value.extensions["conflicting_session"]["id"] is None
    with pytest.raises(TimeConflict) as named:
        new(at(3), ledger)
    assert named.value.extensions["conflicting_session"]["id"] == other.id


def test_a_new_coach_takes_over_only_while_free_at_each_session() -> None:
    ahead = [
        OpenSession(uuid.uuid4(), FACTS.coachee_id, at(3), at(3, 11)),
        OpenSession(uuid.uuid4(), FACTS.coachee_id, at(4), at(4, 11)),
    ]
    touching = OpenSession(uuid.uuid4(), uuid.uuid4(), at(3, 11), at(3, 12))
    booking.ensure_coach_free("Maia", ahead, [touching, *ahead])
    clash = OpenSession(uuid.uuid4(), uuid.uuid4(), at(4, 10), at(4, 11))
    with pytest.raises(TimeConflict) as refused:
        booking.ensure_coach_free("Maia", ahead, [touching, *ahead, clash])
    assert refused.value.extensions["conflicting_session"]["id"] == clash.id
    assert str(ahead[1].id) in refused.value.detail


def test_confirming_checks_overlap_but_not_availability() -> None:
    nowhere = replace(FACTS, availability=Availability.empty())
    requested = replace(session(at(3), SessionStatus.REQUESTED), booking=nowhere)
    booking.ensure_confirmable(requested, now=NOW, ledger=EMPTY)
    clash = OpenSession(uuid.uuid4(), uuid.uuid4(), at(3), at(3, 11))
    with pytest.raises(TimeConflict):
        booking.ensure_confirmable(requested, now=NOW, ledger=Ledger({}, [clash]))
    itself = OpenSession(requested.id, FACTS.coachee_id, at(3), at(3, 11))
    booking.ensure_confirmable(requested, now=NOW, ledger=Ledger({}, [itself]))


@pytest.mark.parametrize(
    ("by_coachee", "expected"),
    [(True, SessionStatus.LATE_CANCELLED), (False, SessionStatus.CANCELLED)],
)
def test_only_a_coachees_late_cancel_keeps_counting(
    by_coachee: bool, expected: SessionStatus
) -> None:
    soon = session(NOW + timedelta(hours=2))
    assert booking.cancel_status(soon, now=NOW, by_coachee=by_coachee) is expected


def test_after_the_start_only_the_coach_or_an_admin_may_change_it() -> None:
    started = session(NOW - timedelta(minutes=10))
    with pytest.raises(InvalidTransition):
        booking.cancel_status(started, now=NOW, by_coachee=True)
    assert booking.cancel_status(started, now=NOW, by_coachee=False) is SessionStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        booking.ensure_may_change(started, "reschedule", now=NOW, by_coachee=True)
    booking.ensure_may_change(started, "reschedule", now=NOW, by_coachee=False)


def test_moving_to_the_same_time_is_no_move() -> None:
    current = session(at(3))
    same = at(3).astimezone(ZoneInfo("America/New_York"))
    assert move(current, same, None) is None
    assert move(current, same, 60) is None
    longer = move(current, same, 90)
    assert longer is not None
    assert longer.ends_at == at(3, 11) + timedelta(minutes=30)


def test_a_new_session_must_lie_in_the_coachs_windows_unless_overridden() -> None:
    nowhere = replace(FACTS, availability=Availability.empty())
    with pytest.raises(OutsideAvailability):
        new(at(3), facts=nowhere)
    assert new(at(3), facts=nowhere, override=True).month == "2026-12"


def test_a_recurrence_starts_at_its_first_instant_and_keeps_its_wall_clock() -> None:
    los_angeles = ZoneInfo("America/Los_Angeles")
    second_half_past_one = datetime(2027, 11, 7, 9, 30, tzinfo=UTC)
    starts = booking.weekly_starts(second_half_past_one, 1, 2, los_angeles)
    assert starts == [second_half_past_one, datetime(2027, 11, 14, 9, 30, tzinfo=UTC)]
    first_half_past_one = datetime(2027, 10, 31, 8, 30, tzinfo=UTC)
    starts = booking.weekly_starts(first_half_past_one, 1, 2, los_angeles)
    assert starts[1] == datetime(2027, 11, 7, 8, 30, tzinfo=UTC)
    skipped = booking.weekly_starts(datetime(2027, 3, 7, 10, 30, tzinfo=UTC), 1, 2, los_angeles)
    assert isinstance(skipped[1], str)
    assert "does not exist on 2027-03-14" in skipped[1]
