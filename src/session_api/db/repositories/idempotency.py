"""Idempotency keys: taken before a write request runs, holding its answer once it is known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from session_api.db.models import idempotency_records
from session_api.db.repositories.base import Repository

# The status of a key whose request is still running (no HTTP answer is 0).
RUNNING = 0

_table = idempotency_records


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A caller's key: the request it was taken for and, once known, the answer."""

    request_hash: str
    status_code: int
    response_body: str
    response_headers: dict[str, str]
    created_at: datetime

    @property
    def running(self) -> bool:
        """Whether the request that took the key has not answered yet."""
        return self.status_code == RUNNING


class IdempotencyRepository(Repository):
    """Queries of the idempotency_records table."""

    table = idempotency_records

    async def take(self, principal: str, key: str, request_hash: str, now: datetime) -> bool:
        """Take a free key for a request about to run; False when the key is already held."""
        dialect = self._connection.dialect.name
        if dialect == "postgresql":
            query: Any = postgresql_insert(_table).on_conflict_do_nothing()
        elif dialect == "sqlite":
            query = sqlite_insert(_table).on_conflict_do_nothing()
        else:
            query = insert(_table)
        values = _running(principal, key, request_hash, now)
        result = await self._connection.execute(query.values(**values))
        return bool(result.rowcount)

    async def held(self, principal: str, key: str) -> KeyRecord | None:
        """The record holding a caller's key, locked until the transaction ends."""
        query = select(
            _table.c.request_hash,
            _table.c.status_code,
            _table.c.response_body,
            _table.c.response_headers,
            _table.c.created_at,
        ).where(_table.c.principal == principal, _table.c.key == key)
        if self._connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await self._connection.execute(query)).one_or_none()
        return None if row is None else KeyRecord(*row)

    async def retake(self, principal: str, key: str, request_hash: str, now: datetime) -> None:
        """Take over a key whose record has expired (or whose request never answered)."""
        await self._connection.execute(
            update(_table)
            .where(_table.c.principal == principal, _table.c.key == key)
            .values(**_running(principal, key, request_hash, now))
        )

    async def answer(
        self, principal: str, key: str, status_code: int, body: str, headers: dict[str, str]
    ) -> None:
        """Keep the answer of the request that holds the key."""
        await self._connection.execute(
            update(_table)
            .where(_table.c.principal == principal, _table.c.key == key)
            .values(status_code=status_code, response_body=body, response_headers=headers)
        )

    async def release(self, principal: str, key: str, request_hash: str) -> None:
        """Free a key whose request failed without an answer worth replaying."""
        await self._connection.execute(
            delete(_table).where(
                _table.c.principal == principal,
                _table.c.key == key,
                _table.c.request_hash == request_hash,
                _table.c.status_code == RUNNING,
            )
        )


def _running(principal: str, key: str, request_hash: str, now: datetime) -> dict[str, Any]:
    return {
        "principal": principal,
        "key": key,
        "request_hash": request_hash,
        "status_code": RUNNING,
        "response_body": "",
        "response_headers": {},
        "created_at": now,
    }
