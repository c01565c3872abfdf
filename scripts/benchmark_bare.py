"""The yardstick of `scripts/benchmark.py`: FastAPI answering one row of one raw asyncpg query.

Served with the same uvicorn settings as `session-api serve` (`session_api.server.run`), so the
benchmark's ratios compare the service with the cheapest thing its stack can do per request.

    .venv/bin/python scripts/benchmark_bare.py --port 8001 --dsn postgresql://postgres@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request

from session_api import server

POOL_SIZE = 20  # as the service's default pool


def bare_app(dsn: str) -> FastAPI:
    """`GET /bare/sessions/{id}`: one indexed row, as JSON."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=POOL_SIZE, max_size=POOL_SIZE)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/bare/sessions/{session_id}")
    async def one_session(session_id: uuid.UUID, request: Request) -> dict[str, Any]:
        row = await request.app.state.pool.fetchrow(
            "SELECT id, coachee_id, starts_at, status FROM sessions WHERE id = $1", session_id
        )
        if row is None:
            raise HTTPException(404)
        return {
            "id": str(row["id"]),
            "coachee_id": str(row["coachee_id"]),
            "starts_at": row["starts_at"].isoformat(),
            "status": row["status"],
        }

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    """Serve the bare app on loopback."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    args = parser.parse_args()
    server.run(bare_app(args.dsn), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
