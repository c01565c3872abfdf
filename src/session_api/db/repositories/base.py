"""What every repository shares: a connection, typed rows, insert-returning and keyset pages."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import asdict, fields
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Generic, TypeAlias, TypeVar

from sqlalchemy import ColumnElement, Row, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# A result row of any width (SQLAlchemy 2.1 types rows by their columns); it never leaves db/.
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
Typed = TypeVar("Typed", bound="DataclassInstance")
Record = TypeVar("Record", bound="DataclassInstance")
New = TypeVar("New", bound="DataclassInstance")
Changes = TypeVar("Changes", bound="DataclassInstance")
Value = TypeVar("Value")


class Unset(Enum):
    """The value of a field a change leaves as it is (a PATCH body did not send it)."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET
# A field of a change: its new value, or UNSET to keep the current one.
NewValue: TypeAlias = Value | Unset


@cache
def _field_names(kind: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(field.name for field in fields(kind))


def typed(kind: type[Typed], row: AnyRow, **given: object) -> Typed:
    """A row as a frozen dataclass: the columns it names (any others left out), and the
    fields `given` apart (a part composed of the same row, say)."""
    mapping = row._mapping
    return kind(
        **{name: mapping[name] for name in _field_names(kind) if name not in given}, **given
    )


def changed_values(changes: DataclassInstance) -> dict[str, object]:
    """The fields a change sets, by name (the ones left `UNSET` stay as they are)."""
    return {
        name: value
        for name in _field_names(type(changes))
        if (value := getattr(changes, name)) is not UNSET
    }


def patched(change: NewValue[Value], current: Value) -> Value:
    """A field's value after a change: the new one if the change sets it, else the current."""
    return current if isinstance(change, Unset) else change


class Repository:
    """Queries run on the unit of work's connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection


class TableRepository(Repository, Generic[Record, New, Changes]):
    """The shared queries of one table: rows come back as its `record` dataclass.

    `New` is what `add` inserts, `Changes` what `change` sets (fields left `UNSET` stay).
    """

    table: Table
    record: type[Record]

    async def get(self, id_: uuid.UUID, *, for_update: bool = False) -> Record | None:
        """The row with this id, optionally locked until the transaction ends."""
        query = select(self.table).where(self.table.c.id == id_)
        if for_update:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).one_or_none()
        return None if row is None else typed(self.record, row)

    async def add(self, new: New) -> Record:
        """Insert one row and return it as stored."""
        query = insert(self.table).values(**asdict(new)).returning(*self.table.c)
        return typed(self.record, (await self._connection.execute(query)).one())

    async def change(self, id_: uuid.UUID, changes: Changes) -> Record | None:
        """Update one row and return it as stored (None when it does not exist)."""
        query = (
            update(self.table)
            .where(self.table.c.id == id_)
            .values(**changed_values(changes))
            .returning(*self.table.c)
        )
        row = (await self._connection.execute(query)).one_or_none()
        return None if row is None else typed(self.record, row)

    async def page(
        self,
        *,
        after: uuid.UUID | None,
        limit: int,
        only: Collection[uuid.UUID] | None = None,
    ) -> Sequence[Record]:
        """Up to `limit + 1` rows ordered by id after a cursor (the extra row means 'more'),
        among the ids in `only` when it is given."""
        criteria = () if only is None else (self.table.c.id.in_(only),)
        return await self._page(after, limit, *criteria)

    async def _page(
        self, after: uuid.UUID | None, limit: int, *criteria: ColumnElement[bool]
    ) -> Sequence[Record]:
        query = select(self.table).where(*criteria).order_by(self.table.c.id).limit(limit + 1)
        if after is not None:
            query = query.where(self.table.c.id > after)
        return [typed(self.record, row) for row in await self._connection.execute(query)]
