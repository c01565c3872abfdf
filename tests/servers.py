"""`session-api serve` in a real process, on a port the server picked and then told us."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.support import JWT_SECRET

# uvicorn logs the port it bound, also for `--port 0` and `--workers N`.
_LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
# Generous: on a busy machine uvicorn's supervisor kills a worker that has not answered its
# health check within 5 s of spawning (still importing) and starts another; a full run once
# needed 117 s before both workers of `--workers 2` were up.
START_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class LiveServer:
    """A running server: its base URL and the pid of its (first) process."""

    url: str
    pid: int
    # Everything the server has written to stderr so far, a line an item.
    log: list[str]


def _forward_lines(stream: IO[str], lines: queue.Queue[str | None], log: list[str]) -> None:
    # Reads to the end, so a chatty server never blocks on a full pipe.
    for line in stream:
        log.append(line)
        lines.put(line)
    lines.put(None)


@contextmanager
def serving(
    executable: Path,
    *,
    env: Mapping[str, str],
    arguments: Sequence[str] = (),
    cwd: Path | None = None,
) -> Iterator[LiveServer]:
    """Run `<executable> serve --port 0` on loopback and yield it once it is ready.

    Port 0 lets the kernel choose a free port while binding it, so no other process can take
    the port between choosing and binding; the URL comes from the server's own log line.
    """
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [str(executable), "serve", "--host", "127.0.0.1", "--port", "0", *arguments],
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    log: list[str] = []
    reader = threading.Thread(target=_forward_lines, args=(process.stderr, lines, log), daemon=True)
    reader.start()
    try:
        yield LiveServer(url=_wait_until_ready(process, lines), pid=process.pid, log=log)
    finally:
        process.terminate()
        process.wait(timeout=30)
        reader.join(timeout=30)
        process.stderr.close()


def _wait_until_ready(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    log: list[str] = []
    url = None
    while url is None:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            pytest.fail(f"the server did not start in time:\n{''.join(log)}")
        if line is None:
            pytest.fail(f"the server exited with {process.wait()}:\n{''.join(log)}")
        log.append(line)
        if (match := _LISTENING.search(line)) is not None:
            url = match[1]
    # With --workers N the port is bound first and listened on once a worker has started.
    with httpx.Client(base_url=url) as probe:
        while True:
            try:
                answer = probe.get("/healthz")
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the server bound {url} but never listened:\n{''.join(log)}")
                time.sleep(0.05)
                continue
            assert answer.status_code == 200, answer.text
            return url


@contextmanager
def live_server(
    database_url: str, *, workers: int = 1, env: Mapping[str, str] | None = None
) -> Iterator[LiveServer]:
    """This checkout's `session-api serve` on the test database until the block ends."""
    environment = {
        **os.environ,
        "SESSION_API_DATABASE_URL": database_url,
        "SESSION_API_JWT_SECRET": JWT_SECRET,
        **(env or {}),
    }
    executable = Path(sys.executable).with_name("session-api")
    with serving(executable, env=environment, arguments=["--workers", str(workers)]) as server:
        yield server
