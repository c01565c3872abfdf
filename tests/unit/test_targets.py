"""Webhooks reach public addresses only, unless a deployment allows private receivers."""

from __future__ import annotations

import pytest

from session_api.notify.mailers import SendFailure
from session_api.notify.targets import ensure_public, private_host_reason


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/hook",
        "http://api.localhost/hook",
        "http://127.0.0.1/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://192.168.0.10/hook",
    ],
)
async def test_private_hosts_are_refused(url: str) -> None:
    assert private_host_reason(url) is not None
    with pytest.raises(SendFailure) as refused:
        await ensure_public(url)
    assert refused.value.permanent


async def test_public_literal_addresses_pass_without_dns() -> None:
    assert private_host_reason("https://93.184.215.14/hook") is None
    await ensure_public("https://93.184.215.14/hook")
    assert private_host_reason("https://hooks.example.com/x") is None
