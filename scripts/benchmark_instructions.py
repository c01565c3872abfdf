"""Instructions per request of the application alone, counted by callgrind.

CPU time per request moves by 10-30% on a shared machine; the instructions a request executes
do not (two runs agree within 1%), so two versions of the code compare exactly, whatever else
the machine is doing. For each endpoint this loads the benchmark's data (5,000 sessions) into
a fresh scratch PostgreSQL database, runs the app in a Python process under valgrind's
callgrind, sends the endpoint's requests straight to the ASGI app (no HTTP, no client), and
prints the instructions of the measured requests divided by their number.

    .venv/bin/python scripts/benchmark_instructions.py --only months,session
    PYTHONPATH=<other checkout>/src .venv/bin/python scripts/benchmark_instructions.py ...

Instructions are not time: a greenlet's stack switch, cache misses and system calls cost time
that they barely show, so confirm a change that trades one for the other with CPU time
(`scripts/benchmark_app.py`). Needs valgrind (`apt-get install -y valgrind`); about a minute
per endpoint, most of it Python starting under callgrind.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import aclosing
from datetime import UTC, datetime
from pathlib import Path

import uvloop
from benchmark import POSTGRES, _first_block_sessions, loaded_database, reads
from in_process import admin_app, writes
from starlette.types import Message

WRITES = ("schedule", "reschedule", "cancel")
WARM_UP = 30


def _dump() -> None:
    """Have callgrind write what it counted so far and start counting afresh."""
    subprocess.run(  # noqa: S603 - valgrind's own tool, on this process
        ["callgrind_control", "--dump", str(os.getpid())],  # noqa: S607
        check=True,
        capture_output=True,
    )


async def measure(dsn: str, name: str, count: int) -> None:
    """Send the requests through the app; callgrind counts those after the warm-up."""
    app, token = admin_app(dsn)

    async def send_one(line: str) -> None:
        method, target, *body = line.split("\t")
        path, _, query = target.partition("?")
        content = body[0].encode() if body else b""
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [
                (b"host", b"app"),
                (b"authorization", f"Bearer {token}".encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("app", 80),
            "state": {},
        }
        messages: list[Message] = [{"type": "http.request", "body": content, "more_body": False}]
        statuses: list[int] = []

        async def receive() -> Message:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)
        if statuses[0] >= 300:
            raise SystemExit(f"{name}: {statuses[0]} for {line}")

    async with app.router.lifespan_context(app):
        today = datetime.now(UTC).date()
        if name in WRITES:
            async with aclosing(writes(dsn, today, WARM_UP + count)) as phases:
                async for phase, lines in phases:
                    if phase == name:
                        break
                    if phase == "schedule":  # what the measured writes act on
                        for line in lines:
                            await send_one(line)
        else:
            by_endpoint = reads(await _first_block_sessions(dsn), today)
            lines = next(
                requests
                for endpoint, requests in by_endpoint.items()
                if endpoint.split(maxsplit=1)[0] == name
            )
        for n in range(WARM_UP):
            await send_one(lines[n % len(lines)])
        _dump()
        for n in range(WARM_UP, WARM_UP + count):
            await send_one(lines[n % len(lines)])
        _dump()


def _counted(folder: Path) -> int:
    """The instructions of the last dump (the measured requests)."""
    last = sorted(folder.glob("callgrind.out.*.2"))[-1]
    for line in last.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise SystemExit(f"no summary in {last}")


def main() -> None:
    """Run the measurement described in the module docstring."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", help="comma-separated endpoint names (default: all)")
    parser.add_argument("--requests", type=int, default=100, help="measured per endpoint")
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--measure", nargs=2, metavar=("DSN", "ENDPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the process under callgrind
        dsn, name = args.measure
        uvloop.run(measure(dsn, name, args.requests))
        return
    if shutil.which("valgrind") is None:
        sys.exit("benchmark_instructions: needs valgrind (apt-get install -y valgrind)")
    today = datetime.now(UTC).date()
    names = [name.split(maxsplit=1)[0] for name in reads([], today)] + list(WRITES)
    chosen = args.only.split(",") if args.only else names
    if unknown := sorted(set(chosen) - set(names)):
        sys.exit(f"benchmark_instructions: unknown {', '.join(unknown)}; known: {', '.join(names)}")
    for name in chosen:
        # A fresh database each: the writes use up the coachee-months they book.
        with (
            loaded_database(args.postgres, 5000) as dsn,
            tempfile.TemporaryDirectory() as folder,
        ):
            command = [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={folder}/callgrind.out.%p",
                sys.executable,
                __file__,
                "--requests",
                str(args.requests),
                "--measure",
                dsn,
                name,
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
            if done.returncode:
                sys.exit(f"{name}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
            per_request = _counted(Path(folder)) / args.requests
        print(f"{name:<14} {per_request:>12,.0f} instructions per request", flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
