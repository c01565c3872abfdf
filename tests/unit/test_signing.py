"""Standard Webhooks signatures: the published vector, tampering, replay and rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from session_api.notify.signing import generate_secret, headers, sign, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'


def _reference_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.split("_", 1)[1])
    digest = hmac.new(
        key, msg_id.encode() + b"." + str(timestamp).encode() + b"." + body, hashlib.sha256
    ).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_published_test_vector() -> None:
    assert (
        sign(SECRET, MSG_ID, TIMESTAMP, BODY) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_signature_matches_an_independent_computation() -> None:
    secret = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    body = '{"type": "session.scheduled", "name": "Zoë"}'.encode()
    expected = _reference_signature(secret, "evt_1", 1_790_000_000, body)
    assert sign(secret, "evt_1", 1_790_000_000, body) == expected


def test_headers_carry_id_timestamp_and_signature() -> None:
    assert headers([SECRET], MSG_ID, TIMESTAMP, BODY) == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_fresh_signature_verifies() -> None:
    signed = headers([SECRET], MSG_ID, TIMESTAMP, BODY)
    assert verify(SECRET, signed, BODY, now=TIMESTAMP)
    assert verify(SECRET, signed, BODY, now=TIMESTAMP + 300)


def test_header_names_are_case_insensitive() -> None:
    signed = {
        name.title(): value for name, value in headers([SECRET], MSG_ID, TIMESTAMP, BODY).items()
    }
    assert verify(SECRET, signed, BODY, now=TIMESTAMP)


def test_changed_body_fails() -> None:
    signed = headers([SECRET], MSG_ID, TIMESTAMP, BODY)
    assert not verify(SECRET, signed, b'{"test": 2432232315}', now=TIMESTAMP)


def test_changed_id_fails() -> None:
    signed = headers([SECRET], MSG_ID, TIMESTAMP, BODY) | {"webhook-id": "msg_other"}
    assert not verify(SECRET, signed, BODY, now=TIMESTAMP)


@pytest.mark.parametrize("skew", [301, -301])
def test_timestamp_outside_tolerance_fails(skew: int) -> None:
    signed = headers([SECRET], MSG_ID, TIMESTAMP, BODY)
    assert not verify(SECRET, signed, BODY, now=TIMESTAMP + skew)


def test_tolerance_is_configurable() -> None:
    signed = headers([SECRET], MSG_ID, TIMESTAMP, BODY)
    assert verify(SECRET, signed, BODY, now=TIMESTAMP + 3600, tolerance_seconds=3600)
    assert not verify(SECRET, signed, BODY, now=TIMESTAMP + 61, tolerance_seconds=60)


def test_wrong_secret_fails() -> None:
    signed = headers([SECRET], MSG_ID, TIMESTAMP, BODY)
    assert not verify(generate_secret(), signed, BODY, now=TIMESTAMP)


def test_any_of_several_signatures_may_match() -> None:
    old_secret_signature = sign(generate_secret(), MSG_ID, TIMESTAMP, BODY)
    signed = headers([SECRET], MSG_ID, TIMESTAMP, BODY)
    signed["webhook-signature"] = (
        f"{old_secret_signature} v1a,ignored {signed['webhook-signature']}"
    )
    assert verify(SECRET, signed, BODY, now=TIMESTAMP)


def test_every_secret_signs_during_a_rotation() -> None:
    old, new = generate_secret(), generate_secret()
    signed = headers([new, old], MSG_ID, TIMESTAMP, BODY)
    assert signed["webhook-signature"].split(" ") == [
        sign(new, MSG_ID, TIMESTAMP, BODY),
        sign(old, MSG_ID, TIMESTAMP, BODY),
    ]
    assert verify(old, signed, BODY, now=TIMESTAMP)
    assert verify(new, signed, BODY, now=TIMESTAMP)
    assert not verify(generate_secret(), signed, BODY, now=TIMESTAMP)


@pytest.mark.parametrize("secrets", [SECRET, []])
def test_signing_needs_a_sequence_of_secrets(secrets: str | list[str]) -> None:
    with pytest.raises(TypeError, match="sequence of secrets"):
        headers(secrets, MSG_ID, TIMESTAMP, BODY)


def test_only_v1_signatures_count() -> None:
    digest = sign(SECRET, MSG_ID, TIMESTAMP, BODY).split(",", 1)[1]
    signed = headers([SECRET], MSG_ID, TIMESTAMP, BODY) | {"webhook-signature": f"v2,{digest}"}
    assert not verify(SECRET, signed, BODY, now=TIMESTAMP)


@pytest.mark.parametrize(
    "damage",
    [
        {"webhook-timestamp": "soon"},
        {"webhook-timestamp": "+1614265330"},
        {"webhook-timestamp": ""},
        {"webhook-signature": ""},
        {"webhook-signature": "v1,héllo"},
    ],
)
def test_malformed_headers_fail(damage: dict[str, str]) -> None:
    signed = headers([SECRET], MSG_ID, TIMESTAMP, BODY) | damage
    assert not verify(SECRET, signed, BODY, now=TIMESTAMP)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_fails(missing: str) -> None:
    signed = headers([SECRET], MSG_ID, TIMESTAMP, BODY)
    del signed[missing]
    assert not verify(SECRET, signed, BODY, now=TIMESTAMP)


def test_generated_secrets_are_random_32_byte_keys() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    signed = headers([first], MSG_ID, TIMESTAMP, BODY)
    assert verify(first, signed, BODY, now=TIMESTAMP)


def test_secret_prefix_is_optional() -> None:
    bare = SECRET.removeprefix("whsec_")
    assert sign(bare, MSG_ID, TIMESTAMP, BODY) == sign(SECRET, MSG_ID, TIMESTAMP, BODY)


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_"])
def test_unusable_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        sign(secret, MSG_ID, TIMESTAMP, BODY)
