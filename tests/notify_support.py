"""Real receivers on loopback for the relay's tests: an SMTP server and a webhook endpoint."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from session_api.db.models import deliveries

LOOPBACK = "127.0.0.1"


@dataclass
class ReceivedMail:
    """One message as the SMTP server got it."""

    recipients: list[str]
    message: EmailMessage

    def text(self) -> str:
        """The plain-text body."""
        body = self.message.get_body(("plain",))
        assert body is not None
        return str(body.get_content())

    def invite(self) -> Calendar:
        """The attached iCalendar invite."""
        for part in self.message.iter_attachments():
            if part.get_content_type() == "text/calendar":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return Calendar.from_ical(payload)
        raise AssertionError("no text/calendar attachment")


class _PortKeepingController(Controller):
    """Binds port 0 (the system picks a free port) and keeps the port it got, so a restart
    listens where the first start did and no process takes it between choosing and binding."""

    async def _bind(self) -> asyncio.AbstractServer:
        server = await super()._create_server()
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        return server

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self._bind()


class SmtpServer:
    """An aiosmtpd server on a loopback port that can be stopped and started again on it."""

    def __init__(self) -> None:
        self.port = 0
        self.received: list[ReceivedMail] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        """aiosmtpd's hook: keep the message."""
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(ReceivedMail(list(envelope.rcpt_tos), message))
        return "250 OK"

    def start(self) -> None:
        """Listen (again) on the same port."""
        self._controller = _PortKeepingController(self, hostname=LOOPBACK, port=self.port)
        self._controller.start()
        self.port = self._controller.port

    def stop(self) -> None:
        """Stop listening; connections are refused until `start`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[ReceivedMail]:
        """The messages sent to one address, in arrival order."""
        return [mail for mail in self.received if address in mail.recipients]


@dataclass
class WebhookRequest:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A minimal HTTP/1.1 server on loopback answering every request with `status`."""

    status: int = 204
    requests: list[WebhookRequest] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _connections: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        """The URL to subscribe."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{LOOPBACK}:{port}/hooks/session-api"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0)

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for connection in self._connections:
            connection.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(WebhookRequest(request_line.split()[1], headers, body))
                writer.write(f"HTTP/1.1 {self.status} Answer\r\ncontent-length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def running_receiver() -> AsyncIterator[WebhookReceiver]:
    """A receiver listening for the length of the block."""
    endpoint = WebhookReceiver()
    await endpoint.start()
    try:
        yield endpoint
    finally:
        await endpoint.stop()


async def delivery_rows(engine: AsyncEngine) -> list[Any]:
    """Every delivery, oldest first."""
    async with engine.connect() as connection:
        return list(await connection.execute(select(deliveries).order_by(deliveries.c.id)))
