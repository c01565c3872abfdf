"""The unit of work on both databases: it rolls back unless told to commit (as cosmicpython's)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import Connection

from session_api.db.engine import build_engine
from session_api.db.repositories.programs import NewProgram
from session_api.db.unit_of_work import deferred_commit
from session_api.errors import ServiceUnavailable
from session_api.services.context import Context
from tests.support import statement_sent


@pytest.fixture
def ctx(app: FastAPI, client: Any) -> Context:
    """The app's context; `client` is asked for so that the tables are emptied afterwards."""
    context: Context = app.state.context
    return context


class Boom(Exception):
    """An error raised inside a use case."""


async def _add_program(ctx: Context, name: str, *, commit: bool) -> uuid.UUID:
    async with ctx.writing() as uow:
        program = await uow.programs.add(NewProgram(name=name, sessions_per_month=2))
        if commit:
            await uow.commit()
    program_id: uuid.UUID = program.id
    return program_id


async def _stored_names(ctx: Context) -> list[str]:
    async with ctx.reading() as uow:
        return [program.name for program in await uow.programs.page(after=None, limit=10)]


async def test_it_rolls_back_unless_told_to_commit(ctx: Context) -> None:
    await _add_program(ctx, "Forgotten", commit=False)

    assert await _stored_names(ctx) == []


async def test_it_commits_when_told(ctx: Context) -> None:
    program_id = await _add_program(ctx, "Kept", commit=True)

    async with ctx.reading() as uow:
        stored = await uow.programs.get(program_id)
    assert stored is not None
    assert stored.name == "Kept"


async def test_a_writer_is_in_its_transaction_from_the_start(ctx: Context) -> None:
    # On PostgreSQL the begin runs in place (no greenlet); either way the transaction is
    # SQLAlchemy's, so the rollback and the commit behave as they always did.
    async with ctx.writing() as uow:
        assert uow.connection.in_transaction()
    await _add_program(ctx, "Kept", commit=True)
    assert await _stored_names(ctx) == ["Kept"]


async def test_a_begin_listener_that_does_io_still_runs_inside_the_begin(ctx: Context) -> None:
    # Such a listener needs SQLAlchemy's greenlet, so a begin that has one is awaited.
    seen: list[object] = []

    def on_begin(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            seen.append(connection.exec_driver_sql("SELECT 1").scalar())

    sync_engine = ctx.engine.sync_engine
    event.listen(sync_engine, "begin", on_begin)
    try:
        program_id = await _add_program(ctx, "Listened", commit=True)
    finally:
        event.remove(sync_engine, "begin", on_begin)
    async with ctx.reading() as uow:
        assert await uow.programs.get(program_id) is not None
    if ctx.engine.dialect.name == "postgresql":
        assert seen == [1]


async def test_a_commit_listener_still_runs_before_the_commit(ctx: Context) -> None:
    # Such a listener may do I/O inside the transaction, so a commit that has one is
    # SQLAlchemy's own.
    seen: list[object] = []

    def on_commit(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            seen.append(connection.exec_driver_sql("SELECT count(*) FROM programs").scalar())

    sync_engine = ctx.engine.sync_engine
    event.listen(sync_engine, "commit", on_commit)
    try:
        await _add_program(ctx, "Listened", commit=True)
    finally:
        event.remove(sync_engine, "commit", on_commit)
    assert await _stored_names(ctx) == ["Listened"]
    if ctx.engine.dialect.name == "postgresql":
        assert seen == [1]


async def _fail_midway(ctx: Context, name: str, *, commit: bool) -> None:
    async with ctx.writing() as uow:
        await uow.programs.add(NewProgram(name=name, sessions_per_month=2))
        if commit:
            await uow.commit()
        raise Boom


async def test_it_rolls_back_on_error(ctx: Context) -> None:
    with pytest.raises(Boom):
        await _fail_midway(ctx, "Half done", commit=False)

    assert await _stored_names(ctx) == []


async def test_an_error_after_the_commit_keeps_what_was_committed(ctx: Context) -> None:
    with pytest.raises(Boom):
        await _fail_midway(ctx, "Committed", commit=True)

    assert await _stored_names(ctx) == ["Committed"]


async def test_uncommitted_writes_are_seen_inside_and_nowhere_else(ctx: Context) -> None:
    async with ctx.writing() as uow:
        program = await uow.programs.add(NewProgram(name="Pending", sessions_per_month=2))
        inside = await uow.programs.get(program.id)
        outside = await _stored_names(ctx)

    assert inside is not None
    assert outside == []


async def test_writers_take_turns_on_sqlite_and_run_side_by_side_on_postgresql(
    ctx: Context,
) -> None:
    sqlite = ctx.engine.dialect.name == "sqlite"
    order: list[str] = []

    async def second_writer() -> None:
        async with ctx.writing() as uow:
            await uow.programs.add(NewProgram(name="Second", sessions_per_month=2))
            await uow.commit()
        order.append("second committed")

    async with ctx.writing() as first:
        await first.programs.add(NewProgram(name="First", sessions_per_month=2))
        if sqlite:
            with statement_sent(ctx.engine, "BEGIN IMMEDIATE") as asked_for_the_lock:
                second = asyncio.ensure_future(second_writer())
                await asyncio.wait_for(asked_for_the_lock.wait(), timeout=30)
        else:
            # PostgreSQL locks rows, not the database: the second writer need not wait.
            second = asyncio.ensure_future(second_writer())
            await second
        await first.commit()
        order.append("first committed")
    # On SQLite the first writer holds the write lock from its first step to its end.
    await second

    if sqlite:
        assert order == ["first committed", "second committed"]
    else:
        assert order == ["second committed", "first committed"]
    assert sorted(await _stored_names(ctx)) == ["First", "Second"]


# --- deferred commits (the idempotency middleware's) -------------------------------------------


async def _names_seen_elsewhere(ctx: Context) -> list[str]:
    """Committed program names, read on a connection no unit of work (and no scope) knows."""
    async with ctx.engine.connect() as connection:
        rows = await connection.exec_driver_sql("SELECT name FROM programs ORDER BY name")
        return [row.name for row in rows]


async def test_a_deferred_commit_waits_for_the_scope_owner(ctx: Context) -> None:
    async with deferred_commit() as deferred:
        await _add_program(ctx, "Held", commit=True)
        assert await _names_seen_elsewhere(ctx) == []
        held = deferred.take()
        assert held is not None
        await held.programs.add(NewProgram(name="Added by the owner", sessions_per_month=2))
        await held.commit()
        assert await _names_seen_elsewhere(ctx) == ["Added by the owner", "Held"]
    assert sorted(await _stored_names(ctx)) == ["Added by the owner", "Held"]


async def test_a_held_change_is_rolled_back_unless_the_owner_commits_it(ctx: Context) -> None:
    async with deferred_commit() as deferred:
        await _add_program(ctx, "Held", commit=True)
        assert deferred.take() is not None
    async with deferred_commit():
        await _add_program(ctx, "Never taken", commit=True)

    assert await _stored_names(ctx) == []


async def test_a_unit_of_work_after_a_held_commit_sees_it_committed(ctx: Context) -> None:
    async with deferred_commit() as deferred:
        await _add_program(ctx, "First", commit=True)
        # On SQLite this second writer would otherwise wait for the held write lock.
        await _add_program(ctx, "Second", commit=True)
        assert await _names_seen_elsewhere(ctx) == ["First"]
        # Only the last one is held: left uncommitted, it is rolled back.
        assert deferred.take() is not None

    assert await _stored_names(ctx) == ["First"]


async def test_a_read_inside_the_writer_after_its_commit_sees_the_change(ctx: Context) -> None:
    async with deferred_commit() as deferred:
        async with ctx.writing() as uow:
            await uow.programs.add(NewProgram(name="Read back", sessions_per_month=2))
            await uow.commit()
            assert await _stored_names(ctx) == ["Read back"]
        assert deferred.take() is None

    assert await _stored_names(ctx) == ["Read back"]


async def test_a_task_started_inside_the_scope_commits_for_itself(ctx: Context) -> None:
    async with deferred_commit() as deferred:
        await asyncio.create_task(_add_program(ctx, "Own task", commit=True))
        assert await _names_seen_elsewhere(ctx) == ["Own task"]
        assert deferred.take() is None


async def test_an_unreachable_database_is_service_unavailable(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite3'}")
    try:
        with pytest.raises(ServiceUnavailable, match="cannot be reached"):
            async with Context(engine).reading():
                pass
    finally:
        await engine.dispose()


@pytest.mark.postgresql  # reads run in AUTOCOMMIT on PostgreSQL only
async def test_a_read_in_autocommit_leaves_the_next_write_its_transaction(ctx: Context) -> None:
    # One pooled connection: the write below gets the very connection the read gave back.
    engine = build_engine(ctx.engine.url.render_as_string(hide_password=False), pool_size=1)
    single = Context(engine)
    try:
        async with single.reading() as uow:
            options = uow.connection.sync_connection.get_execution_options()  # type: ignore[union-attr]
            assert options["isolation_level"] == "AUTOCOMMIT"
            assert await uow.programs.page(after=None, limit=1) == []

        await _add_program(single, "Rolled back", commit=False)

        assert await _stored_names(ctx) == []
    finally:
        await engine.dispose()
