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

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64 (well-known and
# local-use) and the deprecated IPv4-compatible form (`::127.0.0.1`).
_IPV4_IN_LOW_BITS = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("::/96"),
)


def _addresses(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The address and every IPv4 address it embeds (mapped, NAT64, 6to4, Teredo)."""
    found: list[Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            found.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            found.append(ip.sixtofour)
        if ip.teredo is not None:
            found.extend(ip.teredo)
        if any(ip in network for network in _IPV4_IN_LOW_BITS):
            found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return all(embedded.is_global and not embedded.is_multicast for embedded in _addresses(ip))


def malformed_target_reason(url: str) -> str | None:
    """Why a URL can never be a webhook target (credentials in it, port 0), else None."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "a webhook URL may not carry a user name or password"
    try:
        port = parts.port
    except ValueError:
        return "the port is not a number from 1 to 65535"
    if port == 0:
        return "port 0 is no port"
    return None


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
    if (reason := malformed_target_reason(url) or private_host_reason(url)) is not None:
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
