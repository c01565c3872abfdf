"""Where webhooks may go: public addresses only, unless the deployment allows private ones.

An admin-registered URL must not turn the worker into a client for the service's own
network (cloud metadata, databases, admin panels). Hosts are checked when a subscription is
saved (literal addresses and `localhost`) and again, after DNS, before every send. The DNS
answer used by the HTTP client may still differ from the one checked (rebinding); a proxy
that enforces the rule is the complete answer where that matters.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from session_api.notify.mailers import SendFailure


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


def private_host_reason(url: str) -> str | None:
    """Why a URL's host is not public when that is visible without DNS, else None."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this machine"
    try:
        public = _is_public(host)
    except ValueError:
        return None
    return None if public else f"{host} is not a public address"


async def ensure_public(url: str) -> None:
    """Refuse, for good, a URL whose host resolves to any non-public address."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if (reason := private_host_reason(url)) is not None:
        raise SendFailure(f"{url} refused: {reason}", permanent=True)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise SendFailure(f"{url} unreachable: {error}", unreachable=True) from error
    private = sorted({str(info[4][0]) for info in answers if not _is_public(str(info[4][0]))})
    if private:
        raise SendFailure(
            f"{url} refused: {host} resolves to {', '.join(private)}, not a public address",
            permanent=True,
        )
