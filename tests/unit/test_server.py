"""Connections served by uvicorn get TCP_NODELAY, also with a socket bound without the TCP proto."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
import uvicorn
from uvicorn.config import Config
from uvicorn.server import ServerState

from session_api import server
from session_api.server import NoDelayHttpToolsProtocol


class _Transport(asyncio.Transport):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {
            "socket": self._sock,
            "sockname": ("127.0.0.1", 8000),
            "peername": ("127.0.0.1", 50000),
        }.get(name, default)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        """Nothing to release: the test owns the socket."""


async def _app(scope: Any, receive: Any, send: Any) -> None:
    """Never called: the test only opens a connection."""


async def test_accepted_connections_send_without_delay() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, as uvicorn binds it
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        config = Config(_app, http=NoDelayHttpToolsProtocol, log_level="warning")
        config.load()
        protocol = NoDelayHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
        protocol.connection_made(_Transport(accepted))
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        protocol.connection_lost(None)
    finally:
        for sock in (client, accepted, listener):
            sock.close()


def test_every_server_runs_on_uvloop_with_the_no_delay_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: options.update(kwargs))
    server.run(_app, host="127.0.0.1", port=8000)
    assert options["http"] is NoDelayHttpToolsProtocol
    assert options["loop"] == "uvloop"
