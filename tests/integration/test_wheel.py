"""The package installs like one: a wheel, installed away from the checkout, migrates and serves."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import httpx
import pytest

from session_api.db import migrations
from tests.servers import serving
from tests.support import JWT_SECRET, auth

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parents[2]


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - our own command lines
        [str(part) for part in command],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _build_wheel(workdir: Path) -> Path:
    """Build from a copy holding only what a source distribution holds, so nothing else in the
    checkout (alembic.ini, tests, build leftovers) can stand in for a missing package file."""
    source = workdir / "source"
    shutil.copytree(
        CHECKOUT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(CHECKOUT / name, source / name)
    wheels = workdir / "wheels"
    # No build isolation and no index: the test environment's setuptools builds it offline.
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--wheel-dir",
        wheels,
        source,
        cwd=workdir,
    )
    (wheel,) = wheels.glob("session_api-*.whl")
    return wheel


def _install(wheel: Path, workdir: Path) -> Path:
    """A new virtual environment holding the wheel; returns its `bin/`.

    The dependencies are borrowed from the test environment through a `.pth` line, read after
    the new environment's own packages (that keeps the test offline and fast). The test
    environment's editable hook for `session_api` is not among them: `.pth` files are only
    processed in site directories, and a `.pth` line adds a plain path.
    """
    target = workdir / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=workdir,
    )
    site_packages = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=workdir
        ).strip()
    )
    (site_packages / "test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return target / "bin"


def test_an_installed_wheel_migrates_and_serves(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    bin_dir = _install(wheel, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    url = f"sqlite+aiosqlite:///{elsewhere / 'wheel.sqlite3'}"
    # Nothing of the checkout's environment leaks in: no PYTHONPATH, no SESSION_API_* values.
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "SESSION_API_DATABASE_URL": url,
        "SESSION_API_JWT_SECRET": JWT_SECRET,
    }

    location = _run(
        bin_dir / "python", "-c", "import session_api; print(session_api.__file__)", cwd=elsewhere
    )
    assert Path(location.strip()).is_relative_to(bin_dir.parent)

    migrated = _run(bin_dir / "session-api", "migrate", cwd=elsewhere, env=env)
    assert migrated == f"session-api: migrated to {migrations.head_revision(url)}\n"

    with serving(bin_dir / "session-api", env=env, cwd=elsewhere) as server:
        base_url = server.url
        ready = httpx.get(f"{base_url}/readyz")
        created = httpx.post(
            f"{base_url}/v1/programs",
            json={"name": "Leadership", "sessions_per_month": 2},
            headers=auth(),
        )
        listed = httpx.get(f"{base_url}/v1/programs", headers=auth())

    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert created.status_code == 201, created.text
    assert [program["name"] for program in listed.json()["items"]] == ["Leadership"]
