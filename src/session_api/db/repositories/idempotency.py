"""Stored first answers of write requests sent with an `Idempotency-Key`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from session_api.db.models import idempotency_records
from session_api.db.repositories.base import AnyRow, Repository


class IdempotencyRepository(Repository):
    """Queries of the idempotency_records table."""

    table = idempotency_records

    async def find(self, principal: str, key: str) -> AnyRow | None:
        """The record of a caller's key, if any."""
        query = select(idempotency_records).where(
            idempotency_records.c.principal == principal, idempotency_records.c.key == key
        )
        return (await self._connection.execute(query)).one_or_none()

    async def keep(self, values: dict[str, Any]) -> None:
        """Store a first answer; a concurrent first answer for the same key wins instead."""
        dialect = self._connection.dialect.name
        if dialect == "postgresql":
            query: Any = postgresql_insert(idempotency_records).on_conflict_do_nothing()
        elif dialect == "sqlite":
            query = sqlite_insert(idempotency_records).on_conflict_do_nothing()
        else:
            query = insert(idempotency_records)
        await self._connection.execute(query.values(**values))

    async def forget(self, principal: str, key: str) -> None:
        """Drop an expired record so the key can be used afresh."""
        await self._connection.execute(
            delete(idempotency_records).where(
                idempotency_records.c.principal == principal, idempotency_records.c.key == key
            )
        )
