"""The image and the compose file agree with the app (no Docker engine needed to check)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from session_api.cli import _parser
from session_api.config import Settings
from session_api.main import create_app
from tests.support import JWT_SECRET

ROOT = Path(__file__).resolve().parents[2]
OUR_IMAGE = "${APP_IMAGE:-session-api:local}"
SETTING = re.compile(r"\bSESSION_API_([A-Z0-9_]+)")


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def _ours(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image") == OUR_IMAGE
    }


def _paths() -> set[str]:
    app = create_app(Settings(jwt_secret=JWT_SECRET, environment="test"))
    return set(app.openapi()["paths"])


def test_every_service_of_ours_runs_one_image_and_a_real_subcommand() -> None:
    compose = _compose()
    ours = _ours(compose)
    assert set(ours) == {"migrate", "api", "worker"}
    assert sum("build" in service for service in ours.values()) == 1
    parser = _parser()
    for name, service in ours.items():
        command = service["command"]
        assert command[0] == "session-api", name
        parser.parse_args(command[1:])  # exits (fails the test) on an unknown option
        if name != "migrate":
            assert service["restart"] == "unless-stopped", name
    assert compose["services"]["db"]["restart"] == "unless-stopped"


def test_every_variable_is_a_known_setting_and_every_setting_is_in_env_example() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(SETTING.findall(text))
    assert used, "the compose file sets no SESSION_API_ variable"
    assert used <= fields, used - fields
    example = set(SETTING.findall((ROOT / ".env.example").read_text()))
    assert example <= fields, f"unknown in .env.example: {example - fields}"
    assert fields <= example, f"add to .env.example: {fields - example}"


def test_secrets_come_from_env_not_from_the_file() -> None:
    compose = _compose()
    assert compose["services"]["db"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )
    for service in _ours(compose).values():
        environment = service["environment"]
        assert "${POSTGRES_PASSWORD:?" in environment["SESSION_API_DATABASE_URL"]
        assert environment["SESSION_API_JWT_SECRET"].startswith("${SESSION_API_JWT_SECRET:?")
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert example == {"POSTGRES_PASSWORD": "", "SESSION_API_JWT_SECRET": ""}


def test_ports_and_health_checks_match_the_app() -> None:
    compose = _compose()
    api = compose["services"]["api"]
    command = api["command"]
    port = command[command.index("--port") + 1]
    assert api["ports"] == [f"127.0.0.1:{port}:{port}"]
    check = " ".join(api["healthcheck"]["test"])
    match = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", check)
    assert match is not None, check
    assert match[1] == port
    assert match[2] == "/readyz"
    assert match[2] in _paths()

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"EXPOSE {port}" in dockerfile
    assert f"127.0.0.1:{port}/readyz" in dockerfile.split("HEALTHCHECK", 1)[1]
    assert f'"--port", "{port}"' in dockerfile

    worker = compose["services"]["worker"]
    heartbeat = worker["environment"]["SESSION_API_WORKER_HEARTBEAT_FILE"]
    assert heartbeat in " ".join(worker["healthcheck"]["test"])
    mail_dir = worker["environment"]["SESSION_API_MAIL_DIR"]
    assert f"mail:{mail_dir}" in worker["volumes"]
    assert compose["services"]["migrate"]["healthcheck"] == {"disable": True}
    assert compose["services"]["mailpit"]["profiles"] == ["dev"]


def test_the_image_installs_the_package_non_editable_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM ", dockerfile, re.MULTILINE)
    assert len(stages) == 2
    assert "pip install -r requirements.txt" in dockerfile
    assert dockerfile.index("pip install -r requirements.txt") < dockerfile.index("COPY src")
    assert "pip install --no-deps ." in dockerfile
    assert " -e " not in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users
    assert users[-1] not in {"root", "0"}
    assert "HEALTHCHECK" in dockerfile


@pytest.mark.slow
def test_the_worker_keeps_its_heartbeat_fresh(tmp_path: Path) -> None:
    heartbeat = tmp_path / "heartbeat"
    env = {
        **os.environ,
        "SESSION_API_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'w.sqlite3'}",
        "SESSION_API_JWT_SECRET": JWT_SECRET,
        "SESSION_API_WORKER_HEARTBEAT_FILE": str(heartbeat),
        "SESSION_API_WORKER_POLL_SECONDS": "0.2",
        "SESSION_API_MAIL_DIR": str(tmp_path / "mail"),
    }
    worker = subprocess.Popen(  # noqa: S603 - our own command line
        [str(Path(sys.executable).with_name("session-api")), "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            if heartbeat.exists():
                break
            time.sleep(0.1)
        else:
            pytest.fail("the worker wrote no heartbeat")
        first = heartbeat.stat().st_mtime_ns
        for _ in range(100):
            if heartbeat.stat().st_mtime_ns > first:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the heartbeat did not move")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
