"""CPU time per request of the application alone: no HTTP server, no concurrency.

Loads the benchmark's data (5,000 sessions by default) into a scratch PostgreSQL database and
sends each endpoint's requests, one after another, through the ASGI app (`httpx.ASGITransport`),
in batches of 20; prints the least and the median CPU milliseconds per request over the
batches. On a busy machine the least is the steadiest figure, so compare two versions of the
code by running both at once (`PYTHONPATH=<other checkout>/src` for the other).

    .venv/bin/python scripts/benchmark_app.py [--requests 300] [--only default-slot,months]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from benchmark import POSTGRES, _first_block_sessions, loaded_database, reads
from in_process import app_client, send, writes

BATCH = 20


async def drive(dsn: str, requests: int, only: set[str] | None) -> None:
    """Every endpoint in turn, through the app in this process."""
    today = datetime.now(UTC).date()
    async with app_client(dsn) as client:

        async def measure(name: str, lines: Sequence[str]) -> None:
            if only is not None and name.split(maxsplit=1)[0] not in only:
                return
            per_request: list[float] = []
            for start in range(0, requests + BATCH, BATCH):
                started = time.process_time()
                for n in range(start, start + BATCH):
                    await send(client, name, lines[n % len(lines)])
                if start:  # the first batch warms up
                    per_request.append((time.process_time() - started) * 1000 / BATCH)
            per_request.sort()
            print(  # noqa: T201
                f"{name:<22} least {per_request[0]:6.2f}  median "
                f"{per_request[len(per_request) // 2]:6.2f} CPU ms/request",
                flush=True,
            )

        for name, lines in reads(await _first_block_sessions(dsn), today).items():
            await measure(name, lines)
        async for name, lines in writes(dsn, today, requests + 2 * BATCH):
            await measure(name, lines)


def main() -> None:
    """Run the measurement described in the module docstring."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300, help="per endpoint")
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--only", help="comma-separated endpoint names")
    parser.add_argument("--postgres", default=POSTGRES)
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    if only is not None and only & {"reschedule", "cancel"}:
        only.add("schedule")  # they act on what schedule booked
    with loaded_database(args.postgres, args.sessions) as dsn:
        asyncio.run(drive(dsn, args.requests, only))


if __name__ == "__main__":
    main()
