"""Hot reads: one SQLAlchemy statement, run precompiled on asyncpg where it can, else as usual.

SQLAlchemy's execute costs about 0.1 ms of CPU over asyncpg's own for a small statement
(cache key, execution context, result rows). A `ReadStatement` compiles its statement once per
PostgreSQL dialect to text with `$n` parameters and, on a connection outside a transaction (the
read units of work run in AUTOCOMMIT), runs it on the asyncpg driver connection, whose cache
keeps it prepared. Parameter and result processing are the column types' own, so the rows are
the same as SQLAlchemy's; elsewhere (SQLite, inside a transaction) it runs through SQLAlchemy.
Either way the engine's cursor events fire, so statement counts and tracing see every read.

A write's statements (the lock, the ledger, the recorded write) run the same way inside the
write's transaction with `in_transaction()`: SQLAlchemy's BEGIN is sent first if no statement
has sent it yet, and a driver error is raised as SQLAlchemy raises it (a lost connection
invalidated, so it answers 503), since an aborted transaction cannot run the statement again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import CompoundSelect, Select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util import greenlet_spawn

from session_api.db.engine import AUTOCOMMIT

Typed = TypeVar("Typed")
_Processor = Callable[[Any], Any]
_EXPANDING = re.compile(r" (NOT )?IN \(__\[POSTCOMPILE_(\w+)\]\)")
_Statement = Select[Any] | CompoundSelect[Any]


@dataclass(frozen=True)
class _Compiled:
    """The statement as PostgreSQL text, and how each `$n` gets its value."""

    sql: str
    # Per position: the request's parameter name and its processor, or a constant.
    parameters: tuple[tuple[str | None, _Processor | None, Any], ...]
    # Per result column that needs it: its index and processor.
    results: tuple[tuple[int, _Processor], ...]


def _compile(statement: _Statement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    assert compiled.positiontup is not None
    assert not compiled.escaped_bind_names
    sql = compiled.string
    placed: list[str] = []
    arrays: list[str] = []
    # A constant list (`status.in_(OPEN)`) is sent one parameter per member, as SQLAlchemy
    # itself sends it: as an array, asyncpg would check it and each member against
    # `collections.abc` classes (27 checks, about 7 us, for a booking's statements).
    constant_lists: dict[str, list[Any]] = {}
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        if bind not in compiled.post_compile_params:
            placed.append(name)
        elif not bind.required and (members := _members_apart(bind.effective_value)):
            constant_lists[name] = members
        else:
            arrays.append(name)
    # Positions: the scalar parameters, the list parameters, then the constant lists' members.
    first_member: dict[str, int] = {}
    position = len(placed) + len(arrays) + 1
    for name, members in constant_lists.items():
        first_member[name] = position
        position += len(members)

    def any_of(match: re.Match[str]) -> str:
        name = match.group(2)
        if name in constant_lists:
            first = first_member[name]
            listed = ", ".join(f"${first + n}" for n in range(len(constant_lists[name])))
            return f" {match.group(1) or ''}IN ({listed})"
        # A list parameter is one array parameter: one prepared statement whatever its length.
        position = len(placed) + arrays.index(name) + 1
        return f" <> ALL(${position})" if match.group(1) else f" = ANY(${position})"

    sql = _EXPANDING.sub(any_of, sql)
    if "__[POSTCOMPILE_" in sql:
        raise ValueError(f"a list parameter in a form this module cannot run: {sql}")
    parameters: list[tuple[str | None, _Processor | None, Any]] = []
    for name in [*placed, *arrays, *constant_lists]:
        bind = compiled.binds[name]
        process: _Processor | None = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in constant_lists:
            parameters.extend(
                (None, None, member if process is None else process(member))
                for member in constant_lists[name]
            )
            continue
        if name in arrays and process is not None:
            process = _each(process)
        if bind.required:
            parameters.append((bind.key, process, None))
        else:
            value = bind.effective_value
            parameters.append((None, None, value if process is None else process(value)))
    results = tuple(
        (index, process)
        for index, column in enumerate(statement.selected_columns)
        if (process := column.type.dialect_impl(dialect).result_processor(dialect, None))
        is not None
    )
    return _Compiled(sql, tuple(parameters), results)


def _members_apart(value: object) -> list[Any] | None:
    """A constant list's members, if it can be sent member by member: values, no tuples."""
    if not isinstance(value, list | tuple) or any(isinstance(member, tuple) for member in value):
        return None
    return list(value) or None


def _each(process: _Processor) -> _Processor:
    return lambda values: [process(value) for value in values]


def _maker(kind: type[Typed], names: tuple[str, ...]) -> Callable[[Sequence[Any]], Typed]:
    """How a row in the order of `names` becomes a `kind`."""
    make: Callable[[Sequence[Any]], Typed] | None = getattr(kind, "_make", None)
    if make is not None:  # a named tuple
        return make
    if hasattr(kind, "__slots__") or hasattr(kind, "__post_init__"):
        return lambda row: kind(*row)
    # A frozen dataclass's __init__ sets each field through object.__setattr__: 2.2 us for
    # the 20 fields of a numbered session, and a page builds fifty. The database already
    # typed the values, so the instance's fields are filled directly (1.0 us).
    new = object.__new__

    def filled(row: Sequence[Any]) -> Typed:
        instance: Typed = new(kind)
        instance.__dict__.update(zip(names, row, strict=True))
        return instance

    return filled


class ReadStatement(Generic[Typed]):
    """A SELECT defined once, read into `kind` rows: a frozen dataclass or a named tuple whose
    fields name columns of the statement."""

    def __init__(self, statement: _Statement, kind: type[Typed]) -> None:
        self.statement = statement
        self.kind = kind
        columns = list(statement.selected_columns.keys())
        names: tuple[str, ...] = getattr(kind, "_fields", None) or tuple(
            field.name
            for field in fields(kind)  # type: ignore[arg-type]
        )
        order = [columns.index(name) for name in names]
        # Rows in the kind's own column order are built positionally, the cheapest way.
        self._order: list[int] | None = None if order == list(range(len(columns))) else order
        self._make = _maker(kind, names)
        # By dialect: the text depends on it, and an engine's dialect goes with the engine.
        self._compiled: WeakKeyDictionary[Dialect, _Compiled] = WeakKeyDictionary()

    def _typed(self, row: Sequence[Any]) -> Typed:
        if self._order is None:
            return self._make(row)
        return self._make([row[index] for index in self._order])

    async def all(self, connection: AsyncConnection, values: Mapping[str, Any]) -> list[Typed]:
        """Every row the statement answers for these parameter values."""
        sync = connection.sync_connection
        assert sync is not None, "the connection is closed"
        if (
            connection.dialect.name != "postgresql"
            or sync.get_execution_options().get("isolation_level") != AUTOCOMMIT
        ):
            return await self._through_sqlalchemy(connection, values)
        # A checked-out, valid connection hands its driver over without I/O (and without
        # the greenlet hop of `get_raw_connection()`, which is for reconnecting).
        pooled = sync.connection if not sync.invalidated else await connection.get_raw_connection()
        compiled, arguments = self._bound(connection, values)
        try:
            records = await self._fetch(sync, pooled.driver_connection, compiled, arguments)
        except Exception:
            # SQLAlchemy knows what a driver error means (a lost connection is invalidated
            # and answers 503, bad data 422): the read runs again through it, and answers or
            # fails as any other statement would.
            return await self._through_sqlalchemy(connection, values)
        return self._rows(compiled, records)

    async def in_transaction(
        self, connection: AsyncConnection, values: Mapping[str, Any]
    ) -> list[Typed]:
        """Every row the statement answers inside the connection's (write) transaction; on a
        connection in AUTOCOMMIT (a dry run's read unit of work), as `all` runs it."""
        sync = connection.sync_connection
        assert sync is not None, "the connection is closed"
        if not connection.in_transaction():
            return await self.all(connection, values)
        if connection.dialect.name != "postgresql" or sync.invalidated:
            return await self._through_sqlalchemy(connection, values)
        adapted = sync.connection.dbapi_connection
        compiled, arguments = self._bound(connection, values)
        try:
            # SQLAlchemy's asyncpg adapter sends BEGIN with its first statement; a statement
            # that bypasses it must send it first, through the adapter, which commits it.
            if adapted._transaction is None:  # type: ignore[union-attr]
                await adapted._start_transaction()  # type: ignore[union-attr]
            driver = sync.connection.driver_connection
            records = await self._fetch(sync, driver, compiled, arguments)
        except Exception as error:
            await greenlet_spawn(_raise_as_sqlalchemy, sync, error, compiled.sql, arguments)
            raise  # not reached: the line above raises
        return self._rows(compiled, records)

    def _bound(
        self, connection: AsyncConnection, values: Mapping[str, Any]
    ) -> tuple[_Compiled, list[Any]]:
        compiled = self._compiled.get(connection.dialect)
        if compiled is None:
            compiled = self._compiled[connection.dialect] = _compile(
                self.statement, connection.dialect
            )
        arguments = [
            constant if name is None else values[name] if process is None else process(values[name])
            for name, process, constant in compiled.parameters
        ]
        return compiled, arguments

    @staticmethod
    async def _fetch(
        sync: Connection, driver: Any, compiled: _Compiled, arguments: list[Any]
    ) -> list[Any]:
        assert driver is not None
        events = sync.dispatch
        if events.before_cursor_execute:
            events.before_cursor_execute(sync, None, compiled.sql, arguments, None, False)
        records: list[Any] = await driver.fetch(compiled.sql, *arguments)
        if events.after_cursor_execute:
            events.after_cursor_execute(sync, None, compiled.sql, arguments, None, False)
        return records

    def _rows(self, compiled: _Compiled, records: list[Any]) -> list[Typed]:
        if not compiled.results:
            return [self._typed(record) for record in records]
        rows = []
        for record in records:
            row = list(record)
            for index, process in compiled.results:
                row[index] = process(row[index])
            rows.append(self._typed(row))
        return rows

    async def _through_sqlalchemy(
        self, connection: AsyncConnection, values: Mapping[str, Any]
    ) -> list[Typed]:
        result = await connection.execute(self.statement, dict(values))
        return [self._typed(row) for row in result]

    async def one_or_none(
        self, connection: AsyncConnection, values: Mapping[str, Any]
    ) -> Typed | None:
        """The one row the statement answers, or None."""
        rows = await self.all(connection, values)
        assert len(rows) <= 1, "more than one row"
        return rows[0] if rows else None


async def commit(connection: AsyncConnection) -> None:
    """Commit the connection's transaction; on PostgreSQL without SQLAlchemy's greenlet hop.

    SQLAlchemy runs a commit in a greenlet (about 16 us of CPU). On asyncpg the COMMIT is
    sent here through the adapter, as SQLAlchemy's would send it; the connection's own
    commit then only ends its bookkeeping, the adapter having nothing left to send. A
    driver error is raised as SQLAlchemy raises it (a lost connection invalidated, so it
    answers 503). With `commit` listeners, which must run before the COMMIT, or anywhere
    else, SQLAlchemy commits as usual.
    """
    sync = connection.sync_connection
    if (
        connection.dialect.name != "postgresql"
        or sync is None
        or sync.invalidated
        or sync.dispatch.commit
        or not sync.in_transaction()
    ):
        await connection.commit()
        return
    adapted = sync.connection.dbapi_connection
    transaction = adapted._transaction  # type: ignore[union-attr]
    if transaction is not None:
        try:
            await adapted._call_and_discard(transaction.commit)  # type: ignore[union-attr]
        except Exception as error:
            await greenlet_spawn(_raise_as_sqlalchemy, sync, error, None, None)
            raise  # not reached: the line above raises
    sync.commit()


def _raise_as_sqlalchemy(
    sync: Connection, error: Exception, sql: str | None, arguments: list[Any] | None
) -> None:
    """Raise a driver error as SQLAlchemy would have, had it run the statement.

    The adapter turns it into its DB-API error; the connection wraps that in a `DBAPIError`
    and invalidates itself on a disconnect (it may do I/O, hence the greenlet).
    """
    adapted = sync.connection.dbapi_connection
    try:
        adapted._handle_exception(error)  # type: ignore[union-attr]
    except Exception as dbapi_error:
        sync._handle_dbapi_exception(dbapi_error, sql, arguments, None, None)
