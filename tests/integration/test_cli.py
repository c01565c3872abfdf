"""The command line: tokens that the API accepts, and no serving on an unmigrated database."""

from __future__ import annotations

from pathlib import Path

import pytest
import uvicorn

from session_api import cli
from session_api.auth import Role, TokenVerifier
from session_api.config import Settings
from session_api.db import migrations

SECRET = "cli-test-secret-cli-test-secret-cli-test-secret"


async def test_an_unmigrated_database_is_reported(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fresh.sqlite3"
    settings = Settings(database_url=url, jwt_secret=SECRET)
    pending = await cli._pending_revision(settings)
    assert pending is not None
    assert "database is at None" in pending


def test_serve_refuses_an_unmigrated_postgresql_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Any non-SQLite URL takes the "must already be migrated" path; SQLite stands in for it.
    url = f"sqlite+aiosqlite:///{tmp_path}/fresh.sqlite3"
    monkeypatch.setenv("SESSION_API_DATABASE_URL", url)
    monkeypatch.setenv("SESSION_API_JWT_SECRET", SECRET)
    monkeypatch.setattr(Settings, "is_sqlite", False)
    with pytest.raises(SystemExit, match="run 'session-api migrate' first"):
        cli.main(["serve", "--port", "1"])
    migrations.upgrade(url)
    started: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(args[0]))
    cli.main(["serve", "--port", "1"])
    assert started == ["session_api.main:create_app"]


def test_token_command_prints_a_token_the_api_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SESSION_API_JWT_SECRET", SECRET)
    cli.main(["token", "--role", "admin", "--ttl", "5m"])
    token = capsys.readouterr().out.strip()
    principal = TokenVerifier(Settings(jwt_secret=SECRET)).verify(token)
    assert principal.role is Role.ADMIN
    with pytest.raises(SystemExit, match="needs --sub"):
        cli.main(["token", "--role", "coach"])
