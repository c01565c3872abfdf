"""The hot paths under load, next to the cheapest request the stack can answer.

For each data size (default 500,000 and then 5,000 sessions) this creates a scratch PostgreSQL
database, migrates it, bulk-loads it with set-based SQL (1,000 coaches with availability,
10,000 coachees, sessions over 24 months with many months full), starts `session-api serve`
(one process) and a bare FastAPI + asyncpg app answering one indexed row with the same uvicorn
settings (`scripts/benchmark_bare.py`), drives each endpoint with wrk, prints every figure as a
ratio to the bare endpoint measured just before it, reports the server's peak RSS and drops
the database.

    .venv/bin/python scripts/benchmark.py            # the full run, about 12 minutes
    .venv/bin/python scripts/benchmark.py --short    # CI: 5,000 sessions, 2 s per endpoint

Writes never fail for lack of room: schedule books fresh coachee-months after the loaded
range, reschedule moves those sessions back and forth between two times reserved for them,
cancel cancels them. Any socket error or non-2xx answer makes the command fail. Needs wrk
(`apt-get install -y wrk`); `--profile DIR` also records a py-spy profile per endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import jwt

HERE = Path(__file__).resolve().parent
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
BIN = Path(sys.executable).parent

COACHES = 1000
COACHEES = 10_000
# People come in blocks of 10 coaches and 100 coachees: the block's first coach has 50
# coachees (a full next-sessions page), five have 6 and four have 5.
BLOCK_COACHEES = 100
SESSIONS_PER_COACHEE = 50
LOADED_MONTHS = 24  # 12 before the current month, the current one and 11 after it
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo")
LOADER = "admin:loader"
SUBJECT = "benchmark"
OPEN = ("requested", "scheduled")

# Targets: the fraction of the bare endpoint's req/s, and the p99 in ms.
READ_P99_MS = 50
WRITE_P99_MS = 100
TARGETS = {
    "default-slot": 0.5,
    "months (12)": 0.5,
    "session by id": 0.5,
    "next-sessions": 0.3,
    "all-future page": 0.3,
    "schedule": 0.25,
    "reschedule": 0.25,
    "cancel": 0.25,
}
WRITES = ("schedule", "reschedule", "cancel")


def _id(kind: int, number: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-a00{kind}-{number:012x}")


def coach_id(number: int) -> uuid.UUID:
    """The loaded coach number `number`."""
    return _id(1, number)


def coachee_id(number: int) -> uuid.UUID:
    """The loaded coachee number `number`."""
    return _id(2, number)


def program_id(limit: int) -> uuid.UUID:
    """The program with `limit` sessions a month."""
    return _id(0, limit)


def layout(coachee: int) -> tuple[int, int]:
    """A coachee's coach and its position among the coach's coachees (the SQL's `place`)."""
    block, place = divmod(coachee, BLOCK_COACHEES)
    if place < 50:
        return block * 10, place
    if place < 80:
        return block * 10 + 1 + (place - 50) // 6, (place - 50) % 6
    return block * 10 + 6 + (place - 80) // 5, (place - 80) % 5


_PEOPLE = """
    SELECT k, coach, place, (ARRAY['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'])
               [coach % 4 + 1] AS zone,
           CASE WHEN k % 4 = 0 THEN 2 ELSE 3 END AS monthly_limit
    FROM (
        SELECT k, (k / 100) * 10 + CASE WHEN k % 100 < 50 THEN 0
                                       WHEN k % 100 < 80 THEN 1 + (k % 100 - 50) / 6
                                       ELSE 6 + (k % 100 - 80) / 5 END AS coach,
               CASE WHEN k % 100 < 50 THEN k % 100
                    WHEN k % 100 < 80 THEN (k % 100 - 50) % 6
                    ELSE (k % 100 - 80) % 5 END AS place
        FROM generate_series(0, $1::int - 1) AS k
    ) AS numbered
"""


def _uuid_sql(kind: int, number: str) -> str:
    return f"('00000000-0000-4000-a00{kind}-' || lpad(to_hex({number}), 12, '0'))::uuid"


async def load(dsn: str, sessions: int, first_month: date) -> None:
    """Programs, coaches, coachees and `sessions` sessions, with set-based SQL only.

    Every coachee of the first `sessions / 50` has 50 sessions over the 24 months: a third of
    their months are full (2 of 2, or 3 of 3), the others one short. Each coach's sessions sit
    at distinct local hours between 08:00 and 14:00, inside the 08:00-18:00 availability.
    """
    availability = json.dumps(
        {
            "weekly": [
                {"weekday": day, "start": "08:00", "end": "18:00"}
                for day in (
                    "monday",
                    "tuesday",
                    "wednesday",
                    "thursday",
                    "friday",
                    "saturday",
                    "sunday",
                )
            ],
            "overrides": [],
        }
    )
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute(
                f"""
                INSERT INTO programs (id, name, sessions_per_month, session_minutes, starts_on,
                                      ends_on, late_cancel_hours, created_at, updated_at)
                SELECT {_uuid_sql(0, "n")}, n || ' a month', n, 60, $1::date, NULL, 24,
                       now(), now()
                FROM generate_series(2, 3) AS n
                """,  # noqa: S608 - only our constants are formatted in
                first_month - timedelta(days=400),
            )
            await connection.execute(
                f"""
                INSERT INTO coaches (id, name, email, timezone, availability, created_at,
                                     updated_at)
                SELECT {_uuid_sql(1, "c")}, 'Coach ' || c, 'coach' || c || '@example.com',
                       (ARRAY['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'])
                           [c % 4 + 1],
                       $2::json, now(), now()
                FROM generate_series(0, $1::int - 1) AS c
                """,  # noqa: S608 - only our constants are formatted in
                COACHES,
                availability,
            )
            await connection.execute(
                f"""
                INSERT INTO coachees (id, name, email, timezone, program_id, coach_id, status,
                                      created_at, updated_at)
                SELECT {_uuid_sql(2, "k")}, 'Coachee ' || k, 'coachee' || k || '@example.com',
                       zone, {_uuid_sql(0, "monthly_limit")}, {_uuid_sql(1, "coach")},
                       'active', now(), now()
                FROM ({_PEOPLE}) AS people
                """,  # noqa: S608 - only our constants are formatted in
                COACHEES,
            )
            await connection.execute(
                f"""
                INSERT INTO sessions (id, coachee_id, coach_id, starts_at, ends_at, month,
                                      status, created_by, version, sequence, created_at,
                                      updated_at)
                SELECT gen_random_uuid(), {_uuid_sql(2, "k")}, {_uuid_sql(1, "coach")},
                       starts, starts + interval '60 minutes', to_char(month_start, 'YYYY-MM'),
                       CASE WHEN starts < now()
                            THEN CASE WHEN (k + m + i) % 10 = 0 THEN 'no_show'
                                      ELSE 'completed' END
                            ELSE CASE WHEN (k + m + i) % 7 = 0 THEN 'requested'
                                      ELSE 'scheduled' END
                       END,
                       $3, 1, 0, now(), now()
                FROM ({_PEOPLE}) AS people
                CROSS JOIN generate_series(0, {LOADED_MONTHS - 1}) AS m
                CROSS JOIN LATERAL (
                    SELECT ($2::date + make_interval(months => m))::date AS month_start
                ) AS months
                CROSS JOIN LATERAL generate_series(
                    0, monthly_limit - CASE WHEN (k + m) % 3 = 0 THEN 1 ELSE 2 END
                ) AS i
                CROSS JOIN LATERAL (
                    SELECT make_timestamptz(
                        extract(year FROM month_start)::int,
                        extract(month FROM month_start)::int,
                        1 + (place * 3 + i) % 28, 8 + (place * 3 + i) / 28, 0, 0, zone
                    ) AS starts
                ) AS instants
                """,  # noqa: S608 - only our constants are formatted in
                sessions // SESSIONS_PER_COACHEE,
                first_month,
                LOADER,
            )
        await connection.execute("VACUUM ANALYZE")
        # 500,000 sessions write about 500 MB of WAL and dirty the tables: checkpointed now,
        # the checkpoint they are owed cannot fall inside the measurements.
        with suppress(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CHECKPOINT")
        count = await connection.fetchval("SELECT count(*) FROM sessions")
        if count != sessions:
            sys.exit(f"benchmark: loaded {count} sessions instead of {sessions}")
    finally:
        await connection.close()


@dataclass
class Endpoint:
    """One line of the report: what was driven and what it measured."""

    name: str
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_ms: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)
    # The bare endpoint measured just before this one: the yardstick of its ratios.
    reference: Endpoint | None = None

    @property
    def per_second(self) -> float:
        """Throughput."""
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Run:
    """The figures of one data size."""

    sessions: int
    endpoints: list[Endpoint] = field(default_factory=list)
    bare: list[Endpoint] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    load_seconds: float = 0.0

    @property
    def bare_cpu_ms(self) -> float:
        """The bare endpoint's CPU per request, averaged over its measurements."""
        return sum(b.cpu_ms for b in self.bare) / len(self.bare)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Load:
    """How hard and how long wrk drives each endpoint."""

    connections: int
    threads: int
    seconds: int
    warmup: int
    token: str
    profile: Path | None


def _frame(frame: str) -> str:
    """`function (path/to/module.py:12)` as `function (module.py)`: one name per function."""
    function, _, where = frame.partition(" (")
    return f"{function} ({where.rsplit('/', 1)[-1].split(':', 1)[0]})" if where else function


def summarize_stacks(collapsed: str, top: int = 40) -> str:
    """The functions that hold most samples of py-spy's collapsed stacks (`--format raw`):
    inclusive (on the stack at all) and self (the innermost frame), as shares of the samples.
    Only samples under the app's ASGI entry count, so the idle event loop is left out."""
    inclusive: dict[str, int] = {}
    innermost: dict[str, int] = {}
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [_frame(frame) for frame in stack.split(";")]
        if not any(frame.startswith("FastAPI.__call__") for frame in frames):
            continue
        samples = int(count)
        total += samples
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + samples
        innermost[frames[-1]] = innermost.get(frames[-1], 0) + samples
    lines = [f"{total} samples in the app"]
    for title, counts in (("inclusive", inclusive), ("self", innermost)):
        lines.append(f"--- {title}")
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:top]
        lines += [f"{100 * n / max(total, 1):6.1f}%  {frame}" for frame, n in ranked]
    return "\n".join(lines) + "\n"


class Driver:
    """Runs wrk against one server and measures the server process's CPU meanwhile."""

    def __init__(self, base_url: str, pid: int, load: Load, scratch: Path) -> None:
        self.base_url = base_url
        self.pid = pid
        self.load = load
        self.scratch = scratch

    def measure(self, name: str, lines: Sequence[str]) -> Endpoint:
        """Warm up, then measure; lines are sent once each, in order, before any repeats."""
        path = self.scratch / f"{name.split(maxsplit=1)[0]}.requests"
        path.write_text("\n".join(lines) + "\n")
        warm = self._wrk(path, self.load.warmup, offset=0)
        offset = int(warm["most_sent"]) * self.load.threads
        profilers = self._profiler(name)
        cpu_before = _cpu_seconds(self.pid)
        figures = self._wrk(path, self.load.seconds, offset=offset)
        cpu = _cpu_seconds(self.pid) - cpu_before
        for profiler, output in profilers:
            profiler.wait(timeout=60)
            if output.suffix == ".stacks" and output.exists():
                output.with_suffix(".txt").write_text(summarize_stacks(output.read_text()))
        failures = {
            kind: int(figures[kind])
            for kind in ("connect", "read", "write", "status", "timeout")
            if figures[kind]
        }
        if offset + int(figures["most_sent"]) * self.load.threads > len(lines) and (name in WRITES):
            failures["ran out of fresh requests"] = 1
        requests = int(figures["requests"])
        return Endpoint(
            name=name,
            requests=requests,
            seconds=figures["duration_us"] / 1e6,
            p50_ms=figures["p50_us"] / 1000,
            p99_ms=figures["p99_us"] / 1000,
            cpu_ms=cpu * 1000 / max(requests, 1),
            failures=failures,
        )

    def _profiler(self, name: str) -> list[tuple[subprocess.Popen[bytes], Path]]:
        """py-spy on the server while the endpoint is measured: a flame graph, and the
        collapsed stacks that `summarize_stacks` reads (two samplers, since one writes one
        format)."""
        if self.load.profile is None:
            return []
        self.load.profile.mkdir(parents=True, exist_ok=True)
        stem = self.load.profile / f"{name.split(maxsplit=1)[0]}-{self.pid}"
        return [
            (
                subprocess.Popen(  # noqa: S603 - our own tool and arguments
                    [
                        str(BIN / "py-spy"),
                        "record",
                        "--pid",
                        str(self.pid),
                        "--duration",
                        str(self.load.seconds),
                        "--rate",
                        "200",
                        "--format",
                        kind,
                        "--output",
                        str(output),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
                output,
            )
            for kind, output in (
                ("flamegraph", stem.with_suffix(".svg")),
                ("raw", stem.with_suffix(".stacks")),
            )
        ]

    def _wrk(self, path: Path, seconds: int, *, offset: int) -> dict[str, float]:
        command = [
            "wrk",
            f"-t{self.load.threads}",
            f"-c{self.load.connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "benchmark.lua"),
            self.base_url,
            "--",
            str(path),
            str(offset),
            str(self.load.threads),
            self.load.token,
        ]
        done = subprocess.run(  # noqa: S603 - our own tool and arguments
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
        for line in done.stdout.splitlines():
            if line.startswith("BENCHMARK "):
                figures: dict[str, float] = json.loads(line.removeprefix("BENCHMARK "))
                return figures
        sys.exit(f"benchmark: wrk failed ({done.returncode}): {done.stderr or done.stdout}")


@contextmanager
def scratch_database(admin_dsn: str) -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards; yields its DSN."""
    name = f"session_api_benchmark_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    base, _, _ = admin_dsn.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def loaded_database(admin_dsn: str, sessions: int) -> Iterator[str]:
    """A scratch database, migrated and loaded with `sessions` sessions; yields its DSN."""
    with scratch_database(admin_dsn) as dsn:
        env = {
            **os.environ,
            "SESSION_API_DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://"),
            "SESSION_API_JWT_SECRET": secrets.token_urlsafe(48),
        }
        subprocess.run(  # noqa: S603 - our own command
            [str(BIN / "session-api"), "migrate"], env=env, check=True, capture_output=True
        )
        asyncio.run(load(dsn, sessions, _month_start(datetime.now(UTC).date(), -12)))
        yield dsn


async def _admin(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[int]:
    """Start a server on loopback, wait until it answers, stop it afterwards; yields its pid."""
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own commands
            command, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as probe:
            while True:
                if process.poll() is not None:
                    sys.exit(f"benchmark: {command[0]} exited:\n{log.read_text()}")
                try:
                    if probe.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    sys.exit(f"benchmark: {command[0]} did not start:\n{log.read_text()}")
                time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _month_start(today: date, months: int) -> date:
    index = today.year * 12 + today.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _post(path: str, body: dict[str, str]) -> str:
    return f"POST\t{path}\t{json.dumps(body, separators=(',', ':'))}"


def reads(first_session_ids: Sequence[uuid.UUID], today: date) -> dict[str, list[str]]:
    """The read requests, over the first block's people (loaded at every data size)."""
    people = range(BLOCK_COACHEES)
    this_month = _month_start(today, 0)
    months = f"from={_month_start(this_month, -5):%Y-%m}&to={_month_start(this_month, 6):%Y-%m}"
    first_day = today + timedelta(days=1)
    days = f"from={first_day}&to={first_day + timedelta(days=13)}"
    return {
        "next-sessions": [f"GET\t/v1/coaches/{coach_id(0)}/next-sessions"],
        "all-future page": [f"GET\t/v1/sessions?coach_id={coach_id(0)}&limit=50"],
        "default-slot": [f"GET\t/v1/coachees/{coachee_id(k)}/default-slot" for k in people],
        "months (12)": [f"GET\t/v1/coachees/{coachee_id(k)}/months?{months}" for k in people],
        "free-slots (14 days)": [
            f"GET\t/v1/coaches/{coach_id(layout(k)[0])}/free-slots?{days}"
            f"&coachee_id={coachee_id(k)}"
            for k in people
        ],
        "session by id": [f"GET\t/v1/sessions/{id_}" for id_ in first_session_ids],
    }


def bookings(today: date, count: int) -> list[str]:
    """Fresh coachee-months after the loaded range, coaches taking turns; 14:00 or 15:00."""
    order = sorted(range(COACHEES), key=lambda k: (layout(k)[1], layout(k)[0]))
    lines: list[str] = []
    month_offset = LOADED_MONTHS - 12
    while len(lines) < count:
        month = _month_start(today, month_offset)
        for k in order:
            coach, place = layout(k)
            local = datetime(
                month.year,
                month.month,
                1 + place % 28,
                14 + place // 28,
                tzinfo=ZoneInfo(ZONES[coach % 4]),
            )
            body = {"coachee_id": str(coachee_id(k)), "starts_at": local.isoformat()}
            lines.append(_post("/v1/sessions", body))
        month_offset += 1
    return lines[:count]


async def booked(dsn: str) -> list[tuple[uuid.UUID, datetime, str]]:
    """The open sessions the schedule phase made, oldest first, with their coach's zone."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            """
            SELECT s.id, s.starts_at, c.timezone FROM sessions s
            JOIN coaches c ON c.id = s.coach_id
            WHERE s.created_by = $1 AND s.status = ANY($2::text[])
            ORDER BY s.created_at, s.id
            """,
            f"admin:{SUBJECT}",
            list(OPEN),
        )
        return [(row["id"], row["starts_at"], row["timezone"]) for row in rows]
    finally:
        await connection.close()


async def loaded_ahead(dsn: str, count: int) -> list[uuid.UUID]:
    """Loaded open sessions after this week, coaches taking turns: more to cancel."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            """
            SELECT id FROM (
                SELECT id, coach_id,
                       row_number() OVER (PARTITION BY coach_id ORDER BY starts_at, id) AS turn
                FROM sessions
                WHERE created_by = $1 AND status = ANY($2::text[])
                  AND starts_at > now() + interval '7 days'
            ) AS ahead
            ORDER BY turn, coach_id
            LIMIT $3
            """,
            LOADER,
            list(OPEN),
            count,
        )
        return [row["id"] for row in rows]
    finally:
        await connection.close()


def moves(sessions: Sequence[tuple[uuid.UUID, datetime, str]], count: int) -> list[str]:
    """Each session two hours later, then back: both times are reserved for it, so all fit."""
    lines: list[str] = []
    later = True
    while sessions and len(lines) < count:
        for id_, starts_at, zone in sessions:
            local = starts_at.astimezone(ZoneInfo(zone))
            target = local.replace(hour=local.hour + 2) if later else local
            lines.append(_post(f"/v1/sessions/{id_}/reschedule", {"starts_at": target.isoformat()}))
        later = not later
    return lines[:count]


def cancellations(session_ids: Sequence[uuid.UUID]) -> list[str]:
    """Each session cancelled once."""
    return [_post(f"/v1/sessions/{id_}/cancel", {"message": "Benchmark"}) for id_ in session_ids]


def run_size(sessions: int, load_settings: Load, args: argparse.Namespace) -> Run:
    """Load one data size, drive every endpoint and the bare one, drop the database."""
    run = Run(sessions=sessions)
    today = datetime.now(UTC).date()
    secret = secrets.token_urlsafe(48)
    load_settings.token = jwt.encode(
        {
            "sub": SUBJECT,
            "role": "admin",
            "exp": datetime.now(UTC) + timedelta(hours=2),
        },
        secret,
        algorithm="HS256",
    )
    with (
        scratch_database(args.postgres) as dsn,
        tempfile.TemporaryDirectory(prefix="session-api-benchmark-") as scratch_dir,
    ):
        scratch = Path(scratch_dir)
        env = {
            **os.environ,
            "SESSION_API_DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://"),
            "SESSION_API_JWT_SECRET": secret,
        }
        subprocess.run(  # noqa: S603 - our own command
            [str(BIN / "session-api"), "migrate"], env=env, check=True, capture_output=True
        )
        started = time.monotonic()
        asyncio.run(load(dsn, sessions, _month_start(today, -12)))
        run.load_seconds = time.monotonic() - started
        print(f"\n{sessions:,} sessions loaded in {run.load_seconds:.0f} s", flush=True)  # noqa: T201
        first_sessions = asyncio.run(_first_block_sessions(dsn))
        api_port, bare_port = _free_port(), _free_port()
        api = [str(BIN / "session-api"), "serve", "--port", str(api_port), "--workers", "1"]
        bare = [sys.executable, str(HERE / "benchmark_bare.py"), "--port", str(bare_port)]
        with (
            serving(api, env, api_port, scratch / "api.log") as api_pid,
            serving([*bare, "--dsn", dsn], env, bare_port, scratch / "bare.log") as bare_pid,
        ):
            service = Driver(f"http://127.0.0.1:{api_port}", api_pid, load_settings, scratch)
            yardstick = Driver(f"http://127.0.0.1:{bare_port}", bare_pid, load_settings, scratch)
            bare_lines = [f"GET\t/bare/sessions/{id_}" for id_ in first_sessions]

            def measure(name: str, lines: Sequence[str]) -> None:
                # The machine's speed drifts (the bare endpoint went from 2,787 to 1,896
                # req/s within one run), so each endpoint is held against the bare one
                # measured just before it.
                reference = yardstick.measure("bare 1 query", bare_lines)
                run.bare.append(reference)
                _print_line(reference)
                result = service.measure(name, lines)
                result.reference = reference
                run.endpoints.append(result)
                _print_line(result)

            print(HEADER)  # noqa: T201
            wanted = args.only.split(",") if args.only else None
            for name, lines in reads(first_sessions, today).items():
                if wanted is None or name.split()[0] in wanted:
                    measure(name, lines)
            if wanted is None or set(WRITES) & set(wanted):
                enough = 6000 * (load_settings.seconds + load_settings.warmup)
                measure("schedule", bookings(today, enough))
                made = asyncio.run(booked(dsn))
                measure("reschedule", moves(made, enough))
                ahead = asyncio.run(loaded_ahead(dsn, enough))
                measure("cancel", cancellations([id_ for id_, _, _ in made] + ahead))
            run.peak_rss_mb = _peak_rss_mb(api_pid)
    return run


async def _first_block_sessions(dsn: str) -> list[uuid.UUID]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT id FROM sessions WHERE coachee_id = ANY($1::uuid[]) ORDER BY id LIMIT 1000",
            [coachee_id(k) for k in range(BLOCK_COACHEES)],
        )
        return [row["id"] for row in rows]
    finally:
        await connection.close()


HEADER = (
    f"{'endpoint':<22}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms':>8}"
    f"{'x bare':>8}{'x CPU':>8}  target"
)


def _print_line(endpoint: Endpoint) -> None:
    print(_format(endpoint), flush=True)  # noqa: T201


def _ratios(endpoint: Endpoint) -> tuple[float, float]:
    """Throughput and CPU per request against the endpoint's reference (a bare one: 1, 1)."""
    reference = endpoint.reference or endpoint
    ratio = endpoint.per_second / reference.per_second if reference.per_second else 0.0
    cpu_ratio = reference.cpu_ms / endpoint.cpu_ms if endpoint.cpu_ms else 0.0
    return ratio, cpu_ratio


def _format(endpoint: Endpoint) -> str:
    ratio, cpu_ratio = _ratios(endpoint)
    verdict = ""
    if endpoint.name in TARGETS:
        limit = WRITE_P99_MS if endpoint.name in WRITES else READ_P99_MS
        held = ratio >= TARGETS[endpoint.name] and endpoint.p99_ms <= limit
        verdict = f"{'ok' if held else 'MISSED'} (>= {TARGETS[endpoint.name]}x, p99 <= {limit})"
    if endpoint.failures:
        verdict += f"  FAILED: {endpoint.failures}"
    return (
        f"{endpoint.name:<22}{endpoint.per_second:>8.0f}{endpoint.p50_ms:>8.1f}"
        f"{endpoint.p99_ms:>8.1f}{endpoint.cpu_ms:>8.2f}{ratio:>8.2f}{cpu_ratio:>8.2f}  {verdict}"
    )


def report(runs: Sequence[Run]) -> None:
    """Every endpoint against the bare one measured just before it, then growth and memory."""
    for run in runs:
        print(  # noqa: T201
            f"\n{run.sessions:,} sessions: bare {min(b.per_second for b in run.bare):.0f}-"
            f"{max(b.per_second for b in run.bare):.0f} req/s, {run.bare_cpu_ms:.2f} CPU ms/req "
            f"(each endpoint is held against the bare one measured just before it); "
            f"server peak RSS {run.peak_rss_mb:.0f} MB"
        )
        print(HEADER)  # noqa: T201
        for endpoint in run.endpoints:
            print(_format(endpoint))  # noqa: T201
    if len(runs) > 1:
        large, small = runs[0], runs[-1]
        print(  # noqa: T201
            f"\nGrowth: x bare at {large.sessions:,} over x bare at {small.sessions:,} "
            "sessions, and CPU per request at the small size over the large (target >= 0.85)"
        )
        small_by_name = {endpoint.name: endpoint for endpoint in small.endpoints}
        for endpoint in large.endpoints:
            other = small_by_name.get(endpoint.name)
            if other is None or not other.per_second:
                continue
            growth = _ratios(endpoint)[0] / _ratios(other)[0]
            cpu_growth = other.cpu_ms / endpoint.cpu_ms if endpoint.cpu_ms else 0.0
            print(f"{endpoint.name:<22}{growth:>8.2f}   CPU per request {cpu_growth:.2f}")  # noqa: T201


# Shorter windows give p99 from a handful of requests (see docs/performance.md).
SECONDS_FOR_TAILS = 10


def main() -> None:
    """Run the benchmark described in the module docstring."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short", action="store_true", help="5,000 sessions, 2 s per endpoint")
    parser.add_argument("--sessions", type=int, nargs="+", help="data sizes (multiples of 50)")
    parser.add_argument("--seconds", type=int, help="measured seconds per endpoint (10)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds before measuring")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", help="comma-separated endpoint names, e.g. default-slot,cancel")
    parser.add_argument("--postgres", default=POSTGRES, help="a database to create others from")
    parser.add_argument(
        "--profile",
        type=Path,
        help="write a py-spy flame graph, collapsed stacks and their summary per endpoint",
    )
    args = parser.parse_args()
    sizes = args.sessions or ([5000] if args.short else [500_000, 5000])
    if any(size % SESSIONS_PER_COACHEE or size > COACHEES * 50 for size in sizes):
        parser.error("sizes must be multiples of 50, at most 500,000")
    if shutil.which("wrk") is None:
        sys.exit("benchmark: wrk is missing; install it with `apt-get install -y wrk`")
    load_settings = Load(
        connections=args.connections,
        threads=args.threads,
        seconds=args.seconds or (2 if args.short else 10),
        warmup=args.warmup,
        token="",
        profile=args.profile,
    )
    print(  # noqa: T201
        f"session-api serve --workers 1, wrk {load_settings.threads} threads "
        f"{load_settings.connections} connections, {load_settings.seconds} s per endpoint; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    if load_settings.seconds < SECONDS_FOR_TAILS:
        print(  # noqa: T201
            f"p99 over {load_settings.seconds} s is indicative only: a few requests that wait "
            "behind a busy event loop set it (docs/performance.md); ratios are comparable"
        )
    runs = [run_size(size, load_settings, args) for size in sizes]
    report(runs)
    failed = [e.name for run in runs for e in [*run.endpoints, *run.bare] if e.failures]
    if failed:
        sys.exit(f"benchmark: FAILED: errors or non-2xx answers from {', '.join(failed)}")


if __name__ == "__main__":
    main()
