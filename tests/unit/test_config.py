"""Settings refuse unsafe values at start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from session_api.config import Settings


def test_secret_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SESSION_API_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="SESSION_API_JWT_SECRET is required"):
        Settings()


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
