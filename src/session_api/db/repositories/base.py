"""What every repository shares: a connection, insert-returning and keyset pages by id."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from sqlalchemy import ColumnElement, Row, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# A result row of any width (SQLAlchemy 2.1 types rows by their columns).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
Typed = TypeVar("Typed", bound="DataclassInstance")


def typed(kind: type[Typed], row: AnyRow) -> Typed:
    """A row as a frozen dataclass: the columns it names, any others left out."""
    return kind(**{field.name: row._mapping[field.name] for field in fields(kind)})


class Repository:
    """Queries of one table, run on the unit of work's connection."""

    table: Table

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, id_: uuid.UUID, *, for_update: bool = False) -> AnyRow | None:
        """The row with this id, optionally locked until the transaction ends."""
        query = select(self.table).where(self.table.c.id == id_)
        if for_update:
            query = query.with_for_update()
        return (await self._connection.execute(query)).one_or_none()

    async def add(self, values: dict[str, Any]) -> AnyRow:
        """Insert one row and return it as stored."""
        query = insert(self.table).values(**values).returning(*self.table.c)
        return (await self._connection.execute(query)).one()

    async def change(self, id_: uuid.UUID, values: dict[str, Any]) -> AnyRow | None:
        """Update one row and return it as stored (None when it does not exist)."""
        query = (
            update(self.table)
            .where(self.table.c.id == id_)
            .values(**values)
            .returning(*self.table.c)
        )
        return (await self._connection.execute(query)).one_or_none()

    async def page(
        self,
        *,
        after: uuid.UUID | None,
        limit: int,
        only: Collection[uuid.UUID] | None = None,
    ) -> Sequence[AnyRow]:
        """Up to `limit + 1` rows ordered by id after a cursor (the extra row means 'more'),
        among the ids in `only` when it is given."""
        criteria = () if only is None else (self.table.c.id.in_(only),)
        return await self._page(after, limit, *criteria)

    async def _page(
        self, after: uuid.UUID | None, limit: int, *criteria: ColumnElement[bool]
    ) -> Sequence[AnyRow]:
        query = select(self.table).where(*criteria).order_by(self.table.c.id).limit(limit + 1)
        if after is not None:
            query = query.where(self.table.c.id > after)
        return (await self._connection.execute(query)).all()
