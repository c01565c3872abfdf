"""`session-api serve` in a real process on loopback, for tests that need real sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import JWT_SECRET


@dataclass(frozen=True)
class LiveServer:
    """A running server: its base URL and the pid of its (first) process."""

    url: str
    pid: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def live_server(database_url: str, *, workers: int = 1) -> Iterator[LiveServer]:
    """Serve the test database until the block ends; one worker runs in the process itself."""
    port = _free_port()
    env = {
        **os.environ,
        "SESSION_API_DATABASE_URL": database_url,
        "SESSION_API_JWT_SECRET": JWT_SECRET,
    }
    command = [str(Path(sys.executable).with_name("session-api")), "serve", "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [*command, "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url) as probe:
            for _ in range(900):
                try:
                    if probe.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise RuntimeError("the server did not start")
        yield LiveServer(url=url, pid=process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
