"""PostgreSQL's own cost of each statement of a write: schedule, reschedule, cancel.

Loads the benchmark's data (500,000 sessions by default) into a scratch database, sends the
benchmark's write requests one after another through the ASGI app in this process, and times
every statement the app sends to PostgreSQL on its backend: the wall time of the round trip and
the CPU time the backend process spent on it (`/proc/<backend pid>/schedstat`, nanoseconds; the
database must run on this machine). Also per write: the WAL bytes written and the CPU time of
PostgreSQL's background processes (WAL writer, checkpointer, background writer, autovacuum).
Then `EXPLAIN (ANALYZE, BUFFERS)` of each statement, run in the write's own transaction just
before the real one (inside a savepoint that is rolled back), under the generic plan the
prepared statement uses once it is cached, and which plan the app's prepared statements chose.

    .venv/bin/python scripts/benchmark_pg_writes.py [--sessions 500000] [--requests 300]

One request at a time, so no statement waits for another writer's lock: these are the
statements' own costs; under the benchmark's 32 connections, lock waits come on top.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
from benchmark import POSTGRES, loaded_database
from in_process import app_client, send, writes

WARMUP = 20
BACKGROUND = ("walwriter", "checkpointer", "background writer", "autovacuum")


def _label(sql: str) -> str:
    head = sql.lstrip()[:40].upper()
    if head.startswith("BEGIN"):
        return "BEGIN"
    if head.startswith("COMMIT"):
        return "COMMIT"
    if head.startswith("ROLLBACK"):
        return "ROLLBACK"
    if "FOR UPDATE" in sql:
        return "lock"
    if "open_of_coach_id" in sql:
        return "ledger"
    if sql.lstrip().startswith("SELECT sessions.status, count(*)"):
        return "usage"
    if "INSERT INTO session_history" in sql:
        return "write"
    return "other: " + " ".join(sql.split())[:60]


def _cpu_ns(pid: int) -> int:
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


def _background_cpu_ns() -> int:
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().decode(errors="replace")
            if command.startswith("postgres:") and any(name in command for name in BACKGROUND):
                total += int((proc / "schedstat").read_text().split()[0])
        except OSError:
            continue
    return total


def _literal(value: Any, type_name: str) -> str:
    if value is None:
        return f"NULL::{type_name}"
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text.replace("'", "''") + f"'::{type_name}"


class Probe:
    """Times each statement on its backend and explains one of each kind on request."""

    def __init__(self) -> None:
        self.samples: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.explain_next = False
        self.explained: dict[str, str] = {}
        self._pids: dict[int, int] = {}
        self.connections: dict[int, asyncpg.Connection] = {}
        self.original_fetch: Any = asyncpg.Connection.fetch
        self._prepared: dict[tuple[int, str], str] = {}

    def install(self) -> None:
        probe = self
        fetch, execute = asyncpg.Connection.fetch, asyncpg.Connection.execute

        async def timed_fetch(
            connection: asyncpg.Connection, query: str, *args: Any, **kw: Any
        ) -> Any:
            if probe.explain_next and not query.lstrip().upper().startswith(
                ("EXPLAIN", "SAVEPOINT")
            ):
                await probe.explain(connection, fetch, execute, query, args)
            return await probe.timed(connection, query, fetch(connection, query, *args, **kw))

        async def timed_execute(
            connection: asyncpg.Connection, query: str, *args: Any, **kw: Any
        ) -> Any:
            return await probe.timed(connection, query, execute(connection, query, *args, **kw))

        asyncpg.Connection.fetch = timed_fetch
        asyncpg.Connection.execute = timed_execute

    async def timed(self, connection: asyncpg.Connection, query: str, call: Any) -> Any:
        pid = self._pids.setdefault(id(connection), connection.get_server_pid())
        self.connections[id(connection)] = connection
        cpu, wall = _cpu_ns(pid), time.perf_counter_ns()
        result = await call
        wall, cpu = time.perf_counter_ns() - wall, _cpu_ns(pid) - cpu
        self.samples[_label(query)].append((wall, cpu))
        return result

    async def explain(
        self,
        connection: asyncpg.Connection,
        fetch: Any,
        execute: Any,
        query: str,
        args: Sequence[Any],
    ) -> None:
        label = _label(query)
        if label in self.explained or not label[0].islower() or label.startswith("other"):
            return
        name = f"pgw_{len(self._prepared)}"
        await execute(connection, "SAVEPOINT pgw_explain")
        try:
            await execute(connection, f"PREPARE {name} AS {query}")
            types = await fetch(
                connection,
                "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = $1",
                name,
            )
            literals = ", ".join(
                _literal(value, type_name)
                for value, type_name in zip(args, types[0][0], strict=True)
            )
            await execute(connection, "SET LOCAL plan_cache_mode = force_generic_plan")
            rows = await fetch(connection, f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE {name}({literals})")
            self.explained[label] = "\n".join(row[0] for row in rows)
        finally:
            await execute(connection, "ROLLBACK TO SAVEPOINT pgw_explain")
            await execute(connection, f"DEALLOCATE {name}")
            self._prepared[(id(connection), name)] = label


async def _wal_lsn(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')"))
    finally:
        await connection.close()


def _say(line: str) -> None:
    print(line, flush=True)  # noqa: T201


async def report(probe: Probe, name: str, requests: int, wal: int, background: int) -> None:
    """One write's statements: count, wall and backend CPU time, plans, EXPLAIN."""
    _say(
        f"\n{name}: {requests} requests, WAL {wal / requests:,.0f} bytes/write, "
        f"background processes {background / requests / 1000:.0f} us CPU/write"
    )
    _say(
        f"  {'statement':<10} {'per write':>9} {'wall us p50':>11} {'mean':>6} "
        f"{'backend CPU us p50':>18} {'mean':>6}"
    )
    total_wall = total_cpu = 0.0
    for label, samples in sorted(probe.samples.items()):
        walls = [wall / 1000 for wall, _ in samples]
        cpus = [cpu / 1000 for _, cpu in samples]
        per = len(samples) / requests
        total_wall += statistics.fmean(walls) * per
        total_cpu += statistics.fmean(cpus) * per
        _say(
            f"  {label:<10} {per:9.2f} {statistics.median(walls):11.0f} "
            f"{statistics.fmean(walls):6.0f} {statistics.median(cpus):18.0f} "
            f"{statistics.fmean(cpus):6.0f}"
        )
    _say(f"  {'all':<10} {'':9} {'':11} {total_wall:6.0f} {'':18} {total_cpu:6.0f}")
    plans: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for connection in probe.connections.values():
        if connection.is_closed():
            continue
        for row in await probe.original_fetch(
            connection, "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
        ):
            counts = plans[_label(row["statement"])]
            counts[0] += row["generic_plans"]
            counts[1] += row["custom_plans"]
    _say(
        "  prepared statements so far, generic/custom plans: "
        + ", ".join(
            f"{label} {generic}/{custom}"
            for label, (generic, custom) in sorted(plans.items())
            if not label.startswith("other")
        )
    )
    for label, plan in probe.explained.items():
        _say(f"\n  EXPLAIN (ANALYZE, BUFFERS), generic plan: {name} {label}\n{plan}")


async def drive(dsn: str, requests: int, explain: bool) -> None:
    """The three writes in turn, one request at a time, through the app in this process."""
    probe = Probe()
    probe.install()
    today = datetime.now(UTC).date()
    async with app_client(dsn) as client:

        async def measure(name: str, lines: Sequence[str]) -> None:
            probe.samples.clear()
            probe.explained.clear()
            wal = background = 0
            for n in range(WARMUP + requests):
                if n == WARMUP:
                    probe.samples.clear()
                    wal, background = await _wal_lsn(dsn), _background_cpu_ns()
                probe.explain_next = explain and n == WARMUP + requests // 2
                await send(client, name, lines[n])
            probe.explain_next = False
            wal = await _wal_lsn(dsn) - wal
            background = _background_cpu_ns() - background
            await report(probe, name, requests, wal, background)

        async for name, lines in writes(dsn, today, WARMUP + requests):
            await measure(name, lines)
        connection = await asyncpg.connect(dsn)
        try:
            rows = await connection.fetch(
                """
                SELECT relname, indexrelname, idx_scan, pg_relation_size(indexrelid) AS bytes
                FROM pg_stat_user_indexes
                WHERE relname IN ('sessions', 'session_history', 'events')
                ORDER BY relname, indexrelname
                """
            )
        finally:
            await connection.close()
        _say("\nindexes the writes maintain (scans: this run only)")
        for row in rows:
            _say(
                f"  {row['relname']:<16} {row['indexrelname']:<46} {row['idx_scan']:>8} "
                f"{row['bytes'] / 2**20:7.1f} MB"
            )


def main() -> None:
    """Run the measurement described in the module docstring."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300, help="per write")
    parser.add_argument("--sessions", type=int, default=500_000)
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--postgres", default=POSTGRES)
    args = parser.parse_args()
    with loaded_database(args.postgres, args.sessions) as dsn:
        asyncio.run(drive(dsn, args.requests, not args.no_explain))


if __name__ == "__main__":
    main()
