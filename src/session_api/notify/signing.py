"""Webhook signatures in the Standard Webhooks format (https://www.standardwebhooks.com)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's marker, not a secret
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


def generate_secret() -> str:
    """A new signing secret, `whsec_` followed by base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64 HMAC-SHA256>` signature of `{msg_id}.{timestamp}.{body}`."""
    signed_content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_key(secret), signed_content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers a Standard Webhooks receiver verifies, signed under every secret.

    Several secrets sign during a rotation: the signatures are space-separated, and a
    receiver that knows either secret accepts the message.
    """
    if isinstance(secrets, str) or not secrets:
        raise TypeError("sign with a non-empty sequence of secrets, not a bare string")
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance_seconds: int = 300,
) -> bool:
    """Whether the body carries a valid, fresh signature under the secret."""
    by_name = {name.lower(): value for name, value in headers.items()}
    msg_id = by_name.get(ID_HEADER)
    raw_timestamp = by_name.get(TIMESTAMP_HEADER)
    signatures = by_name.get(SIGNATURE_HEADER)
    if not msg_id or not raw_timestamp or not signatures:
        return False
    # int() would also take "+1_614_265_330"; the format is plain decimal seconds.
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()):
        return False
    timestamp = int(raw_timestamp)
    # Both directions: a timestamp far in the future would otherwise stay replayable for longer.
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, msg_id, timestamp, body).encode("ascii")
    # Several signatures appear during secret rotation; any v1 match is enough, and
    # every candidate is compared so the timing does not reveal which one matched.
    matched = False
    for candidate in signatures.split():
        version, _, _ = candidate.partition(",")
        if version == SIGNATURE_VERSION and hmac.compare_digest(
            expected, candidate.encode("ascii", "replace")
        ):
            matched = True
    return matched


def _secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key
