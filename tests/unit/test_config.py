"""Settings refuse unsafe values at start-up."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from session_api.auth import TokenVerifier
from session_api.config import Settings


@pytest.fixture(autouse=True)
def _no_configuration_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the machine running the tests has set, these tests start from nothing."""
    for name in os.environ:
        if name.upper().startswith("SESSION_API_"):
            monkeypatch.delenv(name)


def test_a_token_key_is_required_to_verify_tokens_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SESSION_API_JWT_SECRET", raising=False)
    monkeypatch.delenv("SESSION_API_JWT_PUBLIC_KEY", raising=False)
    settings = Settings()  # the worker and `migrate` never verify tokens
    with pytest.raises(ValueError, match="SESSION_API_JWT_SECRET is required"):
        settings.refuse_without_token_key()
    with pytest.raises(ValueError, match="SESSION_API_JWT_SECRET is required"):
        TokenVerifier(settings)


def test_short_secret_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(jwt_secret="short", environment="production")
    assert Settings(jwt_secret="short", environment="development").jwt_secret is not None


def test_defaults_to_embedded_sqlite() -> None:
    settings = Settings(jwt_secret="s" * 32)
    assert settings.is_sqlite
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_public_key_needs_asymmetric_algorithms() -> None:
    with pytest.raises(ValidationError, match="asymmetric"):
        Settings(jwt_public_key="-----BEGIN PUBLIC KEY-----", jwt_algorithms=("HS256",))


def test_values_come_from_prefixed_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_API_JWT_SECRET", "e" * 32)
    monkeypatch.setenv("SESSION_API_DATABASE_URL", "postgresql+asyncpg://db.internal/sessions")
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///./not-ours.sqlite3")

    settings = Settings()

    assert settings.database_url == "postgresql+asyncpg://db.internal/sessions"
    assert not settings.is_sqlite
