"""Fuzz the live API with schemathesis, on SQLite and (when configured) PostgreSQL.

Each backend gets a fresh migrated database and `session-api serve` on loopback; schemathesis
runs every default check with a fixed seed and a bounded number of examples per operation.
Exits non-zero on any failure. Used by `.ci/run`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SEED = "20261203"
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "15")
# What schema-valid data the contract may still refuse, and why: see the file.
CONFIG = Path(__file__).with_name("schemathesis.toml")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _postgres(base_url: str, name: str, *, drop: bool) -> None:
    admin = create_async_engine(
        make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                if drop
                else f'CREATE DATABASE "{name}"'
            )
    finally:
        await admin.dispose()


def _fuzz(database_url: str, label: str) -> int:
    port = _free_port()
    env = {
        **os.environ,
        "SESSION_API_DATABASE_URL": database_url,
        "SESSION_API_JWT_SECRET": secrets.token_urlsafe(48),
        "SCHEMATHESIS_HOOKS": "hooks",
        "PYTHONPATH": str(Path(__file__).parent),
    }
    subprocess.run([BIN / "session-api", "migrate"], env=env, check=True)  # noqa: S603
    token = subprocess.run(  # noqa: S603
        [BIN / "session-api", "token", "--role", "admin", "--ttl", "1h"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    server = subprocess.Popen(  # noqa: S603
        [BIN / "session-api", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.1)
        started = time.monotonic()
        result = subprocess.run(  # noqa: S603
            [
                BIN / "schemathesis",
                "--config-file",
                str(CONFIG),
                "run",
                f"{url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--seed",
                SEED,
                "--max-examples",
                MAX_EXAMPLES,
                "--workers",
                "1",
                "--request-timeout",
                "30",
                "--report",
                "junit",
                "--report-dir",
                str(Path(tempfile.gettempdir()) / f"schemathesis-{label}"),
            ],
            env=env,
            # Schemathesis keeps a cache in its working directory; not in the checkout.
            cwd=tempfile.gettempdir(),
            check=False,
        )
        print(f"fuzz: {label}: exit {result.returncode} in {time.monotonic() - started:.0f} s")  # noqa: T201
        return result.returncode
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    """Fuzz each configured backend; the number of failing backends is the exit status."""
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        failed += _fuzz(f"sqlite+aiosqlite:///{folder}/fuzz.sqlite3", "sqlite") != 0
    postgres = os.environ.get("SESSION_API_TEST_POSTGRES_URL")
    if postgres:
        name = f"session_api_fuzz_{uuid.uuid4().hex[:12]}"
        asyncio.run(_postgres(postgres, name, drop=False))
        try:
            url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
            failed += _fuzz(url, "postgresql") != 0
        finally:
            asyncio.run(_postgres(postgres, name, drop=True))
    return failed


if __name__ == "__main__":
    sys.exit(main())
