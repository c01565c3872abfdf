"""Random sequences of booking actions through the service layer on SQLite, with invariants.

After every step: no month goes over its limit through a placement of ours, the labels of
each coachee's month run 1..n by start, nobody is in two open sessions at once, and every
stored month is the session's month in its coachee's current zone. Before every single
schedule, a one-occurrence dry-run batch must decide exactly as the schedule does, with an
equal problem.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)
from sqlalchemy.ext.asyncio import create_async_engine

from session_api.auth import Principal, Role
from session_api.db import migrations
from session_api.db.repositories.coachees import CoacheeChanges, NewCoachee
from session_api.db.repositories.coaches import NewCoach
from session_api.db.repositories.programs import NewProgram
from session_api.db.repositories.sessions import numbered_sessions
from session_api.domain.availability import availability_from_json
from session_api.domain.months import month_of
from session_api.domain.quota import COUNTING_STATUSES, OPEN_STATUSES, SessionStatus
from session_api.errors import DomainError
from session_api.services import availability, batch, catalog, scheduling, sessions
from session_api.services.context import Context

T = TypeVar("T")
ADMIN = Principal(Role.ADMIN, "ops")
START = datetime(2026, 11, 20, 12, tzinfo=UTC)
ZONES = ("Europe/Berlin", "America/New_York", "Pacific/Auckland", "America/Los_Angeles")
LIMIT = 2
WORKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every example."""
    path = tmp_path_factory.mktemp("state") / "template.sqlite3"
    migrations.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@dataclass
class Clock:
    instant: datetime = START

    def __call__(self) -> datetime:
        return self.instant


class BookingMachine(RuleBasedStateMachine):
    """Coachees of two coaches, 2 sessions a month, booked, moved and cancelled at random."""

    template: Path
    booked = Bundle("booked")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = self.template.parent / uuid.uuid4().hex
        self.folder.mkdir()
        database = self.folder / "db.sqlite3"
        shutil.copy(self.template, database)
        self.clock = Clock()
        self.ctx = Context(create_async_engine(f"sqlite+aiosqlite:///{database}"), self.clock)
        self.coachees: list[Any] = []
        self.coaches: list[Any] = []

    def run(self, step: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(step)

    def teardown(self) -> None:
        self.run(self.ctx.engine.dispose())
        self.loop.close()
        shutil.rmtree(self.folder)

    @initialize()
    def people(self) -> None:
        async def make() -> None:
            program = await catalog.create_program(
                self.ctx,
                ADMIN,
                NewProgram(name="P", sessions_per_month=LIMIT, late_cancel_hours=24),
            )
            for zone, weekly in (
                ("Europe/Berlin", [(day, "00:00", "24:00") for day in (*WORKDAYS, "saturday")]),
                ("America/New_York", [(day, "08:00", "20:00") for day in WORKDAYS]),
            ):
                coach = await catalog.create_coach(
                    self.ctx, ADMIN, NewCoach(name="C", email="c@example.com", timezone=zone)
                )
                windows = [{"weekday": d, "start": s, "end": e} for d, s, e in weekly]
                await availability.put_availability(
                    self.ctx, ADMIN, coach.id, availability_from_json({"weekly": windows})
                )
                self.coaches.append(coach)
            for coach, zone in zip(
                (self.coaches[0], self.coaches[0], self.coaches[1]), ZONES, strict=False
            ):
                self.coachees.append(
                    await catalog.create_coachee(
                        self.ctx,
                        ADMIN,
                        NewCoachee(
                            name="Maia",
                            email="m@example.com",
                            timezone=zone,
                            program_id=program.id,
                            coach_id=coach.id,
                        ),
                    )
                )

        self.run(make())

    def principal(self, who: str, coachee: Any) -> Principal:
        if who == "coachee":
            return Principal(Role.COACHEE, str(coachee.id))
        if who == "coach":
            return Principal(Role.COACH, str(coachee.coach_id))
        return ADMIN

    def start(self, day: int, half_hours: int) -> datetime:
        midnight = START.replace(hour=0) + timedelta(days=day)
        return midnight + timedelta(minutes=30 * half_hours)

    async def state(self) -> list[Any]:
        """Every session, numbered as the API shows it."""
        async with self.ctx.engine.connect() as connection:
            return list((await connection.execute(numbered_sessions())).all())

    async def used(self) -> dict[tuple[uuid.UUID, str], int]:
        counts: dict[tuple[uuid.UUID, str], int] = {}
        for row in await self.state():
            if row.status in COUNTING_STATUSES:
                key = (row.coachee_id, row.month)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def placed(self, step: Coroutine[Any, Any, T]) -> T | DomainError:
        """Run a placement; every month it fills must have had room (or the move stays in it)."""
        before = self.run(self.used())
        try:
            result = self.run(step)
        except DomainError as error:
            return error
        after = self.run(self.used())
        for key, used in after.items():
            if used > before.get(key, 0):
                assert used <= LIMIT, f"{key} went over its limit: {used}"
        return result

    @rule(
        target=booked,
        which=st.integers(0, 2),
        day=st.integers(0, 50),
        half_hours=st.integers(0, 47),
        minutes=st.sampled_from([30, 60, 90]),
        status=st.sampled_from([SessionStatus.SCHEDULED, SessionStatus.REQUESTED]),
        who=st.sampled_from(["admin", "coach", "coachee"]),
        override=st.booleans(),
    )
    def schedule(
        self,
        which: int,
        day: int,
        half_hours: int,
        minutes: int,
        status: SessionStatus,
        who: str,
        override: bool,
    ) -> uuid.UUID | None:
        coachee = self.coachees[which]
        principal = self.principal(who, coachee)
        override = override and who != "coachee"
        starts_at = self.start(day, half_hours)
        plan = self.run(
            batch.plan(
                self.ctx,
                principal,
                batch.NewBatch(
                    coachee.id, [starts_at], None, minutes, status, override, None, dry_run=True
                ),
            )
        )
        outcome = self.placed(
            scheduling.book(
                self.ctx,
                principal,
                scheduling.NewSession(coachee.id, starts_at, minutes, status, override, None),
            )
        )
        problem = plan.problems[0]
        if isinstance(outcome, DomainError):
            assert problem is not None, f"the batch accepted what the schedule refused: {outcome}"
            assert (type(problem), problem.detail, problem.extensions) == (
                type(outcome),
                outcome.detail,
                outcome.extensions,
            )
            return None
        assert problem is None, f"the batch refused what the schedule accepted: {problem}"
        twins = [
            row
            for row in self.run(self.state())
            if (row.coachee_id, row.starts_at) == (coachee.id, starts_at)
            and row.status in COUNTING_STATUSES
        ]
        # Equal starts are ranked by id, which a dry run cannot know yet.
        if len(twins) == 1:
            assert plan.occurrences[0].session_number == outcome.session_number
        session_id: uuid.UUID = outcome.id
        return session_id

    @rule(
        target=booked,
        which=st.integers(0, 2),
        day=st.integers(0, 50),
        half_hours=st.integers(0, 47),
        every_weeks=st.integers(1, 3),
        count=st.integers(1, 5),
    )
    def plan_weekly(
        self, which: int, day: int, half_hours: int, every_weeks: int, count: int
    ) -> MultipleResults[uuid.UUID]:
        coachee = self.coachees[which]
        recurrence = batch.Recurrence(self.start(day, half_hours), every_weeks, count)
        outcome = self.placed(
            batch.plan(
                self.ctx,
                ADMIN,
                batch.NewBatch(
                    coachee.id, None, recurrence, 60, SessionStatus.SCHEDULED, False, None, False
                ),
            )
        )
        if isinstance(outcome, DomainError):
            return multiple()
        return multiple(*(row.id for row in outcome.created))

    @rule(
        session=booked,
        day=st.integers(0, 50),
        half_hours=st.integers(0, 47),
        minutes=st.sampled_from([None, 30, 60]),
        who=st.sampled_from(["admin", "coach", "coachee"]),
        same=st.booleans(),
    )
    def reschedule(
        self,
        session: uuid.UUID | None,
        day: int,
        half_hours: int,
        minutes: int | None,
        who: str,
        same: bool,
    ) -> None:
        if session is None:
            return
        current = self.run(sessions.get_session(self.ctx, ADMIN, session))
        coachee = next(c for c in self.coachees if c.id == current.coachee_id)
        starts_at = current.starts_at if same else self.start(day, half_hours)
        outcome = self.placed(
            scheduling.reschedule(
                self.ctx,
                self.principal(who, coachee),
                session,
                scheduling.Move(starts_at, minutes, False, None),
                expected_versions=None,
            )
        )
        if same and minutes is None and not isinstance(outcome, DomainError):
            assert outcome.version == current.version, "a move to the same time changed it"

    @rule(session=booked, who=st.sampled_from(["admin", "coach", "coachee"]))
    def cancel(self, session: uuid.UUID | None, who: str) -> None:
        if session is None:
            return
        current = self.run(sessions.get_session(self.ctx, ADMIN, session))
        coachee = next(c for c in self.coachees if c.id == current.coachee_id)
        try:
            cancelled = self.run(
                scheduling.cancel(
                    self.ctx,
                    self.principal(who, coachee),
                    session,
                    message="x",
                    expected_versions=None,
                )
            )
        except DomainError:
            return
        if who != "coachee":
            assert cancelled.status == SessionStatus.CANCELLED

    @rule(session=booked, who=st.sampled_from(["admin", "coach"]))
    def confirm(self, session: uuid.UUID | None, who: str) -> None:
        if session is None:
            return
        current = self.run(sessions.get_session(self.ctx, ADMIN, session))
        coachee = next(c for c in self.coachees if c.id == current.coachee_id)
        try:
            self.run(
                scheduling.confirm(
                    self.ctx,
                    self.principal(who, coachee),
                    session,
                    message=None,
                    expected_versions=None,
                )
            )
        except DomainError:
            return

    @rule(which=st.integers(0, 2), zone=st.sampled_from(ZONES))
    def move_house(self, which: int, zone: str) -> None:
        coachee = self.coachees[which]
        self.coachees[which] = self.run(
            catalog.update_coachee(self.ctx, ADMIN, coachee.id, CoacheeChanges(timezone=zone))
        )

    @rule(hours=st.integers(1, 24 * 10))
    def time_passes(self, hours: int) -> None:
        self.clock.instant += timedelta(hours=hours)

    @invariant()
    def labels_run_from_one_by_start(self) -> None:
        if not self.coachees:
            return
        months: dict[tuple[uuid.UUID, str], list[Any]] = {}
        for row in self.run(self.state()):
            if row.status in COUNTING_STATUSES:
                months.setdefault((row.coachee_id, row.month), []).append(row)
            else:
                assert row.session_number is None
        for rows in months.values():
            ranked = sorted(rows, key=lambda row: (row.starts_at, row.id))
            assert [row.session_number for row in ranked] == list(range(1, len(rows) + 1))

    @invariant()
    def nobody_is_in_two_sessions_at_once(self) -> None:
        open_rows = [row for row in self.run(self.state()) if row.status in OPEN_STATUSES]
        for person in ("coach_id", "coachee_id"):
            by_person: dict[uuid.UUID, list[Any]] = {}
            for row in open_rows:
                by_person.setdefault(getattr(row, person), []).append(row)
            for rows in by_person.values():
                ordered = sorted(rows, key=lambda row: row.starts_at)
                for earlier, later in pairwise(ordered):
                    assert earlier.ends_at <= later.starts_at, (earlier.id, later.id)

    @invariant()
    def months_follow_the_coachees_zone(self) -> None:
        zones = {c.id: ZoneInfo(c.timezone) for c in self.coachees}
        for row in self.run(self.state()):
            assert row.month == month_of(row.starts_at, zones[row.coachee_id])


@pytest.mark.slow
def test_booking_rules_hold_in_any_order(template: Path) -> None:
    BookingMachine.template = template
    run = BookingMachine.TestCase
    run.settings = settings(
        max_examples=20,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    run().runTest()
