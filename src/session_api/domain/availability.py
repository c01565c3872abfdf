"""A coach's availability: weekly windows and date overrides, turned into bookable instants.

Decisions, so that DST changes are handled on purpose, never by luck:

- Windows are wall-clock times in the coach's zone. An end of "24:00" (midnight after the day)
  is stored as `END_OF_DAY` (`time.max`), so `end > start` and sorting work unchanged; only
  `window_instants` and `format_clock` give it its meaning.
- A boundary that does not exist (clocks turned forward) moves forward to the first instant
  that does exist: the transition itself.
- An ambiguous boundary (clocks turned back) is read as its earlier instant when it starts a
  window and as its later instant when it ends one, so a window keeps its full wall-clock span.
- Free slots step in real elapsed time from the window's start instant, so a skipped local time
  is never offered, and a repeated hour offers both of its instants.
- Windows that touch form one window, across midnight too (Monday until 24:00 and Tuesday from
  00:00): a session fits when it lies inside such a joined span, and free slots are offered
  across the join. Each window still steps its own slots from its own start.
- `availability_from_json` only parses; `validate_availability` checks the rules, so a stored
  document stays readable even if the limits change later.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Final, TypedDict
from zoneinfo import ZoneInfo

from session_api.errors import ValidationProblem

WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
END_OF_DAY: Final = time.max
MAX_WINDOWS_PER_DAY: Final = 50
MAX_OVERRIDES: Final = 366

# [0-9], not \d: \d also matches other scripts' digits, which int() would then accept.
_CLOCK_PATTERN = re.compile(r"([0-9]{2}):([0-9]{2})")
_DATE_PATTERN = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_ONE_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Window:
    """A span of wall-clock time within one day; `end` may be `END_OF_DAY` (24:00)."""

    start: time
    end: time


@dataclass(frozen=True)
class WeeklyWindow:
    """A window that recurs every week; `weekday` runs from 0 (Monday) to 6 (Sunday)."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class DateOverride:
    """The windows of one date, replacing the weekly ones; no windows means a day off."""

    date: date
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class Availability:
    """A coach's weekly windows and date overrides, in the coach's time zone."""

    weekly: tuple[WeeklyWindow, ...]
    overrides: tuple[DateOverride, ...]
    # Each weekday's and each overridden date's windows, sorted, worked out once: every
    # booking asks for three days' windows, and sorting all seven weekdays for that cost
    # about 8 us of a 30-us check. Derived from the fields, so left out of ==, hash and repr.
    _weekly_by_day: Mapping[int, tuple[Window, ...]] = field(init=False, repr=False, compare=False)
    _overridden: Mapping[date, tuple[Window, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_day: dict[int, list[Window]] = {}
        for weekly in self.weekly:
            by_day.setdefault(weekly.weekday, []).append(Window(weekly.start, weekly.end))
        overridden: dict[date, tuple[Window, ...]] = {}
        for override in self.overrides:
            # A date given twice (refused when stored) takes its first override.
            overridden.setdefault(override.date, _sorted_windows(override.windows))
        weekly_by_day = {day: _sorted_windows(windows) for day, windows in by_day.items()}
        object.__setattr__(self, "_weekly_by_day", weekly_by_day)
        object.__setattr__(self, "_overridden", overridden)

    @classmethod
    def empty(cls) -> Availability:
        """Return availability with no windows at all."""
        return cls(weekly=(), overrides=())

    def windows_on(self, day: date) -> tuple[Window, ...]:
        """The windows of `day`, sorted: its override's if it has one, else its weekday's."""
        overridden = self._overridden.get(day)
        if overridden is not None:
            return overridden
        return self._weekly_by_day.get(day.weekday(), ())


class WindowJson(TypedDict):
    """A window as JSON: wall-clock `HH:MM` times, `end` possibly "24:00"."""

    start: str
    end: str


class WeeklyWindowJson(WindowJson):
    """A weekly window as JSON, its weekday by name."""

    weekday: str


class DateOverrideJson(TypedDict):
    """A date override as JSON: an ISO date and its windows."""

    date: str
    windows: list[WindowJson]


class AvailabilityJson(TypedDict):
    """Availability as JSON: how it is stored and shown."""

    weekly: list[WeeklyWindowJson]
    overrides: list[DateOverrideJson]


def parse_clock(text: str, *, is_end: bool) -> time:
    """Return the time written as HH:MM; "24:00" is accepted only as an end (`END_OF_DAY`)."""
    if is_end and text == "24:00":
        return END_OF_DAY
    match = _CLOCK_PATTERN.fullmatch(text)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        latest = "24:00" if is_end else "23:59"
        raise ValidationProblem(
            f"{text!r} is not a time of day; write it as HH:MM from 00:00 to {latest}."
        )
    return time(int(match[1]), int(match[2]))


def format_clock(t: time, *, is_end: bool) -> str:
    """Return `t` as HH:MM, and `END_OF_DAY` as "24:00" when it ends a window."""
    if is_end and t == END_OF_DAY:
        return "24:00"
    if not _is_whole_minute(t):
        raise ValueError(f"{t.isoformat()} is not a whole-minute wall-clock time")
    return f"{t.hour:02d}:{t.minute:02d}"


@lru_cache(maxsize=1024)
def availability_from_text(text: str) -> Availability:
    """Parse availability stored as JSON text, once per distinct document.

    Every booking of a coach parses the same document (about 35 us for a week of windows);
    an `Availability` is immutable, so one parse serves them all until the document changes.
    """
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValidationProblem(f"availability must be an object, not {_shown(doc)}.")
    return availability_from_json(doc)


def availability_from_json(doc: Mapping[str, object]) -> Availability:
    """Parse the JSON shape of availability; a missing list is empty, unknown keys are refused."""
    _refuse_unknown_keys(doc, {"weekly", "overrides"}, "availability")
    weekly = tuple(
        _weekly_from_json(item, f"weekly[{i}]")
        for i, item in enumerate(_list_at(doc, "weekly", "availability", required=False))
    )
    overrides = tuple(
        _override_from_json(item, f"overrides[{i}]")
        for i, item in enumerate(_list_at(doc, "overrides", "availability", required=False))
    )
    return Availability(weekly=weekly, overrides=overrides)


def availability_to_json(av: Availability) -> AvailabilityJson:
    """Return the JSON shape of availability, sorted by weekday and start, and by date."""
    weekly = sorted(av.weekly, key=lambda w: (w.weekday, w.start, w.end))
    overrides = sorted(av.overrides, key=lambda o: o.date)
    return {
        "weekly": [
            {"weekday": WEEKDAYS[w.weekday], **_window_to_json(Window(w.start, w.end))}
            for w in weekly
        ],
        "overrides": [
            {
                "date": o.date.isoformat(),
                "windows": [_window_to_json(w) for w in _sorted_windows(o.windows)],
            }
            for o in overrides
        ],
    }


def validate_availability(av: Availability) -> None:
    """Raise ValidationProblem unless every window is sound and no day's windows overlap."""
    if len(av.overrides) > MAX_OVERRIDES:
        raise ValidationProblem(
            f"There are {len(av.overrides)} date overrides; at most {MAX_OVERRIDES} are allowed."
        )
    by_weekday: dict[int, list[Window]] = {}
    for weekly in av.weekly:
        if not 0 <= weekly.weekday <= 6:
            raise ValidationProblem(
                f"Weekday {weekly.weekday} does not exist; use 0 (Monday) to 6 (Sunday)."
            )
        by_weekday.setdefault(weekly.weekday, []).append(Window(weekly.start, weekly.end))
    for weekday, windows in sorted(by_weekday.items()):
        _validate_day(windows, WEEKDAYS[weekday])
    seen: set[date] = set()
    for override in av.overrides:
        if override.date in seen:
            raise ValidationProblem(
                f"The date {override.date.isoformat()} has more than one override; "
                "give each date a single override with all its windows."
            )
        seen.add(override.date)
        _validate_day(list(override.windows), override.date.isoformat())


def window_instants(day: date, window: Window, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """Return the window on `day` as UTC instants [start, end), or None if nothing is left."""
    try:
        start = _instant(datetime.combine(day, window.start), zone, is_end=False)
        if window.end == END_OF_DAY:
            end_local = datetime.combine(day + _ONE_DAY, time(0))
        else:
            end_local = datetime.combine(day, window.end)
        end = _instant(end_local, zone, is_end=True)
    except OverflowError:
        # Days at the very edge of datetime's range have no instants to offer.
        return None
    return (start, end) if start < end else None


def fits(av: Availability, zone: ZoneInfo, starts_at: datetime, ends_at: datetime) -> bool:
    """Return True iff [starts_at, ends_at) lies wholly inside one window, touching ones joined."""
    _require_aware(starts_at, "starts_at")
    _require_aware(ends_at, "ends_at")
    if ends_at <= starts_at:
        return False
    try:
        first_day = starts_at.astimezone(zone).date()
        last_day = ends_at.astimezone(zone).date()
    except OverflowError:
        return False
    # A DST change can move a window boundary across local midnight (and "24:00" is the next
    # day's midnight), so the neighbouring days' windows are joined in too.
    spans = _joined(_spans(av, zone, _days_between(first_day, last_day, margin=1)))
    return any(start <= starts_at and ends_at <= end for start, end in spans)


def free_slots(
    av: Availability,
    zone: ZoneInfo,
    first_day: date,
    last_day: date,
    duration: timedelta,
    step: timedelta,
    busy: Sequence[tuple[datetime, datetime]],
    not_before: datetime,
) -> list[tuple[datetime, datetime]]:
    """Return the bookable [start, end) pairs on the local days first_day..last_day, ascending.

    Each window of those days offers starts within itself, stepped from its own start; a slot
    may run on into a window that touches it (across midnight too).
    """
    if duration <= timedelta(0) or step <= timedelta(0):
        raise ValueError("duration and step must be positive")
    _require_aware(not_before, "not_before")
    taken = _merged(busy)
    taken_starts = [start for start, _ in taken]
    taken_ends = [end for _, end in taken]
    own = _spans(av, zone, _days_between(first_day, last_day, margin=0))
    joined = _joined(_spans(av, zone, _days_between(first_day, last_day, margin=1)))
    joined_starts = [start for start, _ in joined]
    slots: list[tuple[datetime, datetime]] = []
    for window_start, window_end in own:
        # Every window lies inside exactly one joined span: the last one starting at or before it.
        span_end = joined[bisect_right(joined_starts, window_start) - 1][1]
        slots.extend(
            _slots_in(
                window_start,
                window_end,
                span_end,
                duration,
                step,
                taken_starts,
                taken_ends,
                not_before,
            )
        )
    # Two windows of a day can offer the same slot (their instants overlap when the clocks
    # turn back); it is offered once. Sorted, then each kept unless equal to the one before:
    # a set hashed every aware instant, half the cost of the whole search.
    slots.sort()
    return [slot for n, slot in enumerate(slots) if n == 0 or slot != slots[n - 1]]


def _days_between(first_day: date, last_day: date, *, margin: int) -> Iterator[date]:
    """The days first_day..last_day, widened by `margin` days each side within the calendar."""
    day = first_day
    for _ in range(margin):
        if day == date.min:
            break
        day -= _ONE_DAY
    end = last_day
    for _ in range(margin):
        if end == date.max:
            break
        end += _ONE_DAY
    while day <= end:
        yield day
        if day == date.max:
            break
        day += _ONE_DAY


def _spans(
    av: Availability, zone: ZoneInfo, days: Iterable[date]
) -> list[tuple[datetime, datetime]]:
    """The windows of some days as UTC instants [start, end), ascending."""
    spans: list[tuple[datetime, datetime]] = []
    for day in days:
        spans.extend(_day_spans(day, av.windows_on(day), zone))
    return sorted(spans)


@lru_cache(maxsize=4096)
def _day_spans(
    day: date, windows: tuple[Window, ...], zone: ZoneInfo
) -> tuple[tuple[datetime, datetime], ...]:
    """The windows of one day as UTC instants, in the windows' order.

    Remembered: it depends only on its (immutable) arguments, and the bookings of a coach ask
    for the same few days over and over (three `window_instants` cost about 20 us).
    """
    return tuple(
        instants
        for window in windows
        if (instants := window_instants(day, window, zone)) is not None
    )


def _joined(spans: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted spans with touching and overlapping ones joined into one."""
    joined: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def _slots_in(
    window_start: datetime,
    window_end: datetime,
    span_end: datetime,
    duration: timedelta,
    step: timedelta,
    taken_starts: Sequence[datetime],
    taken_ends: Sequence[datetime],
    not_before: datetime,
) -> Iterator[tuple[datetime, datetime]]:
    """Starts within [window_start, window_end) whose slot ends by `span_end`, the joined end."""
    if span_end - window_start < duration:
        return
    # Counting steps rather than adding them keeps every datetime inside the window, so the
    # search cannot overflow even next to datetime.max.
    last_step = min(
        (span_end - duration - window_start) // step,
        (window_end - window_start - _TICK) // step,
    )
    k = _steps_until(window_start, not_before, step)
    while k <= last_step:
        start = window_start + k * step
        end = start + duration
        # `taken` is disjoint and sorted, so the first interval ending after `start` is the
        # only one that can overlap [start, end).
        i = bisect_right(taken_ends, start)
        if i < len(taken_ends) and taken_starts[i] < end:
            k = _steps_until(window_start, taken_ends[i], step)
        else:
            yield start, end
            k += 1


def _steps_until(origin: datetime, target: datetime, step: timedelta) -> int:
    """Return the fewest whole steps from `origin` that reach `target` (0 if already there)."""
    if target <= origin:
        return 0
    return -((origin - target) // step)


def _merged(busy: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Return the busy intervals as a sorted list of disjoint, non-empty intervals."""
    return _joined(sorted(interval for interval in busy if interval[0] < interval[1]))


def _instant(local: datetime, zone: ZoneInfo, *, is_end: bool) -> datetime:
    """Return the UTC instant of a naive local time in `zone`, resolving DST as documented."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first <= second:
        # Equal: the time exists once. Otherwise it is ambiguous and fold picks the reading.
        return second if is_end else first
    # PEP 495: inside a gap, fold=0 applies the old offset and lands after the transition,
    # fold=1 the new one and lands before it; the transition lies in (second, first].
    return _transition(second, first, zone)


def _transition(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """Return the first instant in (before, after] that has `after`'s UTC offset in `zone`."""
    offset = after.astimezone(zone).utcoffset()
    # tzdata offsets and transitions fall on whole seconds, so a search in seconds is exact.
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _sorted_windows(windows: Iterable[Window]) -> tuple[Window, ...]:
    return tuple(sorted(windows, key=lambda w: (w.start, w.end)))


def _validate_day(windows: list[Window], day_name: str) -> None:
    if len(windows) > MAX_WINDOWS_PER_DAY:
        raise ValidationProblem(
            f"There are {len(windows)} windows on {day_name}; at most {MAX_WINDOWS_PER_DAY} are "
            "allowed per day."
        )
    for window in windows:
        if not (_is_whole_minute(window.start) and _is_end_clock(window.end)):
            raise ValidationProblem(
                f"The {day_name} window {window.start.isoformat()}-{window.end.isoformat()} "
                "must start and end on whole minutes of local wall-clock time."
            )
        if window.end <= window.start:
            raise ValidationProblem(
                f"The {day_name} window {_window_text(window)} must end after it starts."
            )
    ordered = _sorted_windows(windows)
    for earlier, later in pairwise(ordered):
        if later.start < earlier.end:
            raise ValidationProblem(
                f"The {day_name} windows {_window_text(earlier)} and {_window_text(later)} "
                "overlap; windows of one day may touch but not overlap."
            )


def _is_whole_minute(t: time) -> bool:
    return t.tzinfo is None and t.second == 0 and t.microsecond == 0


def _is_end_clock(t: time) -> bool:
    return t == END_OF_DAY or _is_whole_minute(t)


def _window_text(window: Window) -> str:
    return f"{format_clock(window.start, is_end=False)}-{format_clock(window.end, is_end=True)}"


def _window_to_json(window: Window) -> WindowJson:
    return {
        "start": format_clock(window.start, is_end=False),
        "end": format_clock(window.end, is_end=True),
    }


def _weekly_from_json(item: object, where: str) -> WeeklyWindow:
    fields = _mapping(item, where)
    _refuse_unknown_keys(fields, {"weekday", "start", "end"}, where)
    name = _string_at(fields, "weekday", where)
    if name not in WEEKDAYS:
        raise ValidationProblem(
            f"{where}.weekday: {_shown(name)} is not a weekday; use one of {', '.join(WEEKDAYS)}."
        )
    window = _window_from_json(fields, where)
    return WeeklyWindow(weekday=WEEKDAYS.index(name), start=window.start, end=window.end)


def _override_from_json(item: object, where: str) -> DateOverride:
    fields = _mapping(item, where)
    _refuse_unknown_keys(fields, {"date", "windows"}, where)
    day = _date_from_text(_string_at(fields, "date", where), f"{where}.date")
    windows = tuple(
        _override_window_from_json(window, f"{where}.windows[{i}]")
        for i, window in enumerate(_list_at(fields, "windows", where, required=True))
    )
    return DateOverride(date=day, windows=windows)


def _override_window_from_json(item: object, where: str) -> Window:
    fields = _mapping(item, where)
    _refuse_unknown_keys(fields, {"start", "end"}, where)
    return _window_from_json(fields, where)


def _window_from_json(fields: Mapping[str, object], where: str) -> Window:
    return Window(
        start=_clock_at(fields, "start", where, is_end=False),
        end=_clock_at(fields, "end", where, is_end=True),
    )


def _clock_at(fields: Mapping[str, object], key: str, where: str, *, is_end: bool) -> time:
    text = _string_at(fields, key, where)
    try:
        return parse_clock(text, is_end=is_end)
    except ValidationProblem as problem:
        raise ValidationProblem(f"{where}.{key}: {problem.detail}") from None


def _date_from_text(text: str, where: str) -> date:
    match = _DATE_PATTERN.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValidationProblem(
            f"{where}: {_shown(text)} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-24."
        ) from None


def _mapping(item: object, where: str) -> Mapping[str, object]:
    if not isinstance(item, Mapping):
        raise ValidationProblem(f"{where} must be an object, not {_shown(item)}.")
    return item


def _list_at(fields: Mapping[str, object], key: str, where: str, *, required: bool) -> list[object]:
    if required and key not in fields:
        raise ValidationProblem(f"{where}.{key} is missing.")
    value = fields.get(key, [])
    if not isinstance(value, list):
        raise ValidationProblem(f"{where}.{key} must be a list, not {_shown(value)}.")
    return value


def _string_at(fields: Mapping[str, object], key: str, where: str) -> str:
    if key not in fields:
        raise ValidationProblem(f"{where}.{key} is missing.")
    value = fields[key]
    if not isinstance(value, str):
        raise ValidationProblem(f"{where}.{key} must be a string, not {_shown(value)}.")
    return value


def _refuse_unknown_keys(fields: Mapping[str, object], known: set[str], where: str) -> None:
    unknown = sorted(str(key) for key in fields if key not in known)
    if unknown:
        raise ValidationProblem(
            f"{where} has unknown field {_shown(unknown[0])}; "
            f"expected only {', '.join(sorted(known))}."
        )


def _shown(value: object) -> str:
    # Echo enough of a bad value to recognise it, but never a whole oversized payload.
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _require_aware(instant: datetime, name: str) -> None:
    if instant.utcoffset() is None:
        raise ValueError(f"{name} must be a time-zone-aware datetime")
