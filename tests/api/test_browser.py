"""A real browser (headless Chromium) calls the running service from another origin."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scheduling_support import always_open_coachee, booked
from tests.servers import live_server
from tests.support import Factory, auth, token

pytestmark = pytest.mark.slow

# A frontend's first calls: read a session (label and ETag), then cancel it with the headers
# a browser app sends (If-Match, Idempotency-Key), which makes the browser ask first (preflight).
PAGE = """<!doctype html>
<html><body><pre id="result">pending</pre><script>
const api = "%(api)s", headers = {Authorization: "Bearer %(token)s"};
async function run() {
  const read = await fetch(`${api}/v1/sessions/%(session)s`, {headers});
  const session = await read.json();
  const cancel = await fetch(`${api}/v1/sessions/%(session)s/cancel`, {
    method: "POST",
    headers: {...headers, "Content-Type": "application/json",
              "If-Match": read.headers.get("ETag"), "Idempotency-Key": "browser-1"},
    body: JSON.stringify({message: "Cannot make it"}),
  });
  return {status: read.status, label: session.label, etag: read.headers.get("ETag"),
          request_id: read.headers.get("X-Request-ID"), cancel_status: cancel.status,
          cancel_etag: cancel.headers.get("ETag")};
}
run().then(
  (answer) => { document.getElementById("result").textContent = JSON.stringify(answer); },
  (error) => { document.getElementById("result").textContent =
                 JSON.stringify({refused: String(error)}); });
</script></body></html>
"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.fail("headless Chromium is needed: apt-get install -y chromium (.ci/run does it)")


class PageServer(ThreadingHTTPServer):
    """Serves `page` on loopback, on a port the system picked when it bound."""

    page = b""

    @property
    def origin(self) -> str:
        """The origin a browser sends from this server's page."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Page(BaseHTTPRequestHandler):
    server: PageServer

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.server.page)))
        self.end_headers()
        self.wfile.write(self.server.page)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def page_server() -> Iterator[Callable[[], PageServer]]:
    """Starts page servers: `serve()` binds port 0, so no other process can take the port
    between choosing and binding it."""
    servers: list[PageServer] = []

    def serve() -> PageServer:
        server = PageServer(("127.0.0.1", 0), _Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def allowed_page(page_server: Callable[[], PageServer]) -> PageServer:
    """The page server whose origin the live API allows."""
    return page_server()


@dataclass
class LiveApi:
    """`session-api serve` on loopback, allowing one browser origin."""

    url: str
    log: list[str]


@pytest.fixture
def live_api(database_url: str, allowed_page: PageServer) -> Iterator[LiveApi]:
    """The real server, with CORS for one loopback origin; its stderr is kept line by line."""
    env = {"SESSION_API_CORS_ORIGINS": allowed_page.origin}
    with live_server(database_url, env=env) as server:
        yield LiveApi(url=server.url, log=server.log)


def _open_in_chromium(url: str, profile: Path) -> dict[str, Any]:
    """Load the page in headless Chromium until its fetches are done; what it wrote."""
    dom = subprocess.run(  # noqa: S603 - a fixed command line
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            # Virtual time waits for pending network requests before the DOM is dumped.
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    ).stdout
    match = re.search(r'<pre id="result">(.*?)</pre>', dom, re.DOTALL)
    assert match is not None, dom
    result: dict[str, Any] = json.loads(html.unescape(match[1]))
    return result


@pytest.fixture
async def page(
    live_api: LiveApi, factory: Factory, engine: AsyncEngine, client: httpx.AsyncClient
) -> tuple[str, str]:
    """A booked session, and the page that reads and cancels it through the live API."""
    coachee = await always_open_coachee(factory)
    session = await booked(client, coachee, "2031-03-04T10:00:00+00:00")
    html_page = PAGE % {"api": live_api.url, "token": token("admin"), "session": session["id"]}
    return str(session["id"]), html_page


async def test_a_page_on_an_allowed_origin_reads_and_changes_a_session(
    live_api: LiveApi, allowed_page: PageServer, page: tuple[str, str], tmp_path: Path
) -> None:
    allowed_page.page = page[1].encode()

    allowed = _open_in_chromium(f"{allowed_page.origin}/", tmp_path / "profile")
    assert allowed["status"] == 200, allowed
    assert allowed["label"] == "Session 1 of 2"
    assert allowed["etag"] == '"v1"'
    assert allowed["cancel_status"] == 200
    assert allowed["cancel_etag"] == '"v2"'

    # The server's own log is JSON lines; the browser's request is there under its id.
    lines = [json.loads(line) for line in live_api.log if line.strip()]
    assert any(line.get("logger", "").startswith("uvicorn") for line in lines)
    access = [line for line in lines if line.get("request_id") == allowed["request_id"]]
    assert [(line["route"], line["status"]) for line in access] == [
        ("/v1/sessions/{session_id}", 200)
    ]


async def test_a_page_on_another_origin_is_refused_by_the_browser(
    page_server: Callable[[], PageServer],
    page: tuple[str, str],
    client: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    other = page_server()
    other.page = page[1].encode()
    refused = _open_in_chromium(f"{other.origin}/", tmp_path / "profile")
    assert refused == {"refused": "TypeError: Failed to fetch"}
    unchanged = await client.get(f"/v1/sessions/{page[0]}", headers=auth())
    assert unchanged.json()["status"] == "scheduled"
