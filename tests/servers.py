"""`session-api serve` as a real process on loopback, for tests that need one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.support import JWT_SECRET


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(
    database_url: str,
    *arguments: str,
    env: dict[str, str] | None = None,
    stderr: IO[bytes] | int = subprocess.DEVNULL,
) -> Iterator[str]:
    """The server on a free loopback port until the block ends; yields its base URL."""
    port = free_port()
    environment = {
        **os.environ,
        "SESSION_API_DATABASE_URL": database_url,
        "SESSION_API_JWT_SECRET": JWT_SECRET,
        **(env or {}),
    }
    command = [str(Path(sys.executable).with_name("session-api")), "serve", "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [*command, *arguments], env=environment, stdout=subprocess.DEVNULL, stderr=stderr
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url) as probe:
            for _ in range(150):
                try:
                    if probe.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                pytest.fail("the server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
