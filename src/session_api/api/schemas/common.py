"""Types every schema shares: checked text, time zones, problems, pages."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime, time
from functools import cache
from importlib import resources
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, Union, get_args, get_origin
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from session_api.errors import ValidationProblem

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _no_control_characters(text: str) -> str:
    if _CONTROL.search(text):
        raise ValueError("control characters other than newline and tab are not allowed")
    return text


def _single_line(text: str) -> str:
    if _ANY_CONTROL.search(text):
        raise ValueError("control characters are not allowed")
    return text


@cache
def _zones() -> frozenset[str]:
    # The IANA names, as the tzdata package lists them: the system's zoneinfo folder also
    # offers files that are no zone names (`localtime`, and others on other systems).
    listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(listed.split()) & frozenset(available_timezones())


def _known_zone(name: str) -> str:
    if name not in _zones():
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. 'Europe/Berlin')")
    return name


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_single_line),
]
LongText = Annotated[str, Field(max_length=2000), AfterValidator(_no_control_characters)]
TimeZoneName = Annotated[str, Field(examples=["Europe/Berlin"]), AfterValidator(_known_zone)]
EARLIEST_YEAR = 1900
LATEST_YEAR = 9000


def within_calendar(value: datetime) -> datetime:
    """The instant in UTC, if it lies between the years the service accepts."""
    # Far ends of the calendar overflow once offsets, durations or recurrences are applied.
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not EARLIEST_YEAR <= in_utc.year <= LATEST_YEAR:
        raise ValueError(f"must lie between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return in_utc


def _written_as_text(value: object) -> object:
    # Pydantic would read 0, 1.5 or "1.5" as seconds since 1970; the contract says RFC 3339.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMERIC.match(value)):
        raise ValueError("must be an RFC 3339 date-time with an offset, not a number")
    return value


_NUMERIC = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
# Offsets are required: a naive date-time names no instant. Values arrive as UTC.
Instant = Annotated[
    AwareDatetime, BeforeValidator(_written_as_text), AfterValidator(within_calendar)
]


def _scalar_types(annotation: object) -> set[object]:
    arguments = get_args(annotation)
    if get_origin(annotation) is Annotated:
        return _scalar_types(arguments[0])
    if arguments and get_origin(annotation) in (Union, UnionType):
        return set().union(*(_scalar_types(argument) for argument in arguments))
    return {annotation}


# Every field of every body is checked on every request; its annotation never changes.
@cache
def _declared_kinds(model: type[BaseModel], field_name: str) -> frozenset[object]:
    return frozenset(_scalar_types(model.model_fields[field_name].annotation))


class InputModel(BaseModel):
    """A request body: unknown fields are refused rather than silently ignored, and numbers
    and booleans are what the schema says (no `false` for 0, no "2" for 2)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _as_declared(cls, value: object, info: ValidationInfo) -> object:
        if info.field_name is None:
            return value
        kinds = _declared_kinds(cls, info.field_name)
        if str in kinds:
            return value
        if isinstance(value, bool) and bool not in kinds and kinds & {int, float}:
            raise ValueError("must be a number, not a boolean")
        if isinstance(value, str) and kinds & {int, float, bool}:
            raise ValueError("must be a JSON number or boolean, not a string")
        if type(value) in (int, float) and not kinds & {int, float}:
            if bool in kinds:
                raise ValueError("must be true or false, not a number")
            if date in kinds:
                raise ValueError(f"{value!r} is not a date; write it as YYYY-MM-DD")
            if kinds & {datetime, time}:
                raise ValueError("must be written as text (ISO 8601), not a number")
        return value


class OutputModel(BaseModel):
    """A response body, read from repository rows."""

    model_config = ConfigDict(from_attributes=True)


ItemT = TypeVar("ItemT")
Command = TypeVar("Command", bound="DataclassInstance")


def command_of(body: BaseModel, kind: type[Command]) -> Command:
    """A create body as a service's typed command, whose fields are the body's."""
    return kind(**body.model_dump())


def changes_of(body: BaseModel, kind: type[Command], *, nullable: Collection[str] = ()) -> Command:
    """A PATCH body as a service's typed changes: the fields it sent, the rest left unset.

    Fields that may not be null (all but `nullable`) are optional in the body only so that
    they can be left out; a null sent for one is refused here, before anything is read.
    """
    sent = body.model_dump(exclude_unset=True)
    for name, value in sent.items():
        if value is None and name not in nullable:
            raise ValidationProblem(f"{name} cannot be null.")
    return kind(**sent)


class Page(BaseModel, Generic[ItemT]):
    """One page of a list; `next_cursor` is null on the last page."""

    items: list[ItemT]
    next_cursor: str | None


class ItemList(BaseModel, Generic[ItemT]):
    """A list that fits in one answer."""

    items: list[ItemT]


def utc(value: datetime) -> datetime:
    """The same instant in UTC (answers always carry UTC)."""
    return value.astimezone(UTC)


JsonDict = dict[str, Any]
