"""Bearer tokens: fixed algorithms, required claims, issuer and audience, RS256."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from session_api.auth import Role, TokenVerifier, issue_token
from session_api.config import Settings
from session_api.errors import Unauthorized

SECRET = "a-secret-of-more-than-sixty-four-bytes-0123456789-0123456789-0123456789"


def _claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "ops", "role": "admin", "exp": datetime.now(UTC) + timedelta(minutes=5), **extra}


def test_valid_token_gives_principal() -> None:
    verifier = TokenVerifier(Settings(jwt_secret=SECRET))
    principal = verifier.verify(jwt.encode(_claims(), SECRET, algorithm="HS256"))
    assert principal.role is Role.ADMIN
    assert principal.actor == "admin:ops"


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode({"sub": "ops", "role": "admin"}, SECRET, algorithm="HS256"),
        jwt.encode(
            _claims(exp=datetime.now(UTC) - timedelta(seconds=1)), SECRET, algorithm="HS256"
        ),
        jwt.encode(
            _claims(),
            "another-secret-of-more-than-sixty-four-bytes-0123456789-0123456789-01234",
            algorithm="HS256",
        ),
        jwt.encode(_claims(), SECRET, algorithm="HS512"),
        jwt.encode(_claims(role="root"), SECRET, algorithm="HS256"),
        jwt.encode(_claims(role="coach", sub="not-an-id"), SECRET, algorithm="HS256"),
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJvcHMiLCJyb2xlIjoiYWRtaW4ifQ.",
    ],
    ids=["no-exp", "expired", "wrong-key", "other-alg", "bad-role", "coach-sub", "alg-none"],
)
def test_bad_tokens_are_unauthorized(token: str) -> None:
    with pytest.raises(Unauthorized):
        TokenVerifier(Settings(jwt_secret=SECRET)).verify(token)


def test_issuer_and_audience_are_checked_when_configured() -> None:
    settings = Settings(jwt_secret=SECRET, jwt_issuer="idp", jwt_audience="session-api")
    verifier = TokenVerifier(settings)
    good = issue_token(settings, role=Role.ADMIN, subject="ops", ttl=timedelta(minutes=1))
    assert verifier.verify(good).subject == "ops"
    with pytest.raises(Unauthorized):
        verifier.verify(
            jwt.encode(_claims(iss="other", aud="session-api"), SECRET, algorithm="HS256")
        )
    with pytest.raises(Unauthorized):
        verifier.verify(jwt.encode(_claims(iss="idp"), SECRET, algorithm="HS256"))


def test_rs256_with_a_configured_public_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = Settings(jwt_public_key=public_pem, jwt_algorithms=("RS256",))
    token = issue_token(
        settings, role=Role.ADMIN, subject="ops", ttl=timedelta(minutes=1), private_key=private_pem
    )
    assert TokenVerifier(settings).verify(token).role is Role.ADMIN
    # An HS256 token "signed" with the public key must not pass (algorithm confusion).
    with pytest.raises(Unauthorized):
        TokenVerifier(settings).verify(jwt.encode(_claims(), SECRET, algorithm="HS256"))


def test_remembered_tokens_still_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier(Settings(jwt_secret=SECRET))
    token = jwt.encode(_claims(exp=datetime.now(UTC) + timedelta(seconds=30)), SECRET, "HS256")
    assert verifier.verify(token).subject == "ops"

    def expired(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        raise jwt.ExpiredSignatureError("Signature has expired")

    monkeypatch.setattr(jwt, "decode", expired)
    # Remembered: no second signature check before `exp`...
    assert verifier.verify(token).subject == "ops"
    later = time.time() + 60
    monkeypatch.setattr(time, "time", lambda: later)
    # ...and checked afresh (here: refused) once `exp` has passed.
    with pytest.raises(Unauthorized):
        verifier.verify(token)
