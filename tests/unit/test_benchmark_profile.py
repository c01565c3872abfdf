"""The benchmark's profile summary (`scripts/benchmark.py --profile`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _benchmark() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "benchmark.py"
    spec = importlib.util.spec_from_file_location("benchmark_script", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


APP = "run (uvicorn/server.py:10);FastAPI.__call__ (fastapi/applications.py:1100)"


def test_shares_count_only_samples_in_the_app_and_each_function_once_per_sample() -> None:
    collapsed = "\n".join(
        [
            f"{APP};handle (app/routes.py:5);fetch (asyncpg/connection.py:7) 6",
            f"{APP};handle (app/routes.py:5);handle (app/routes.py:9) 2",
            f"{APP};dumps (app/bodies.py:3) 2",
            "run (uvicorn/server.py:10);select (selectors.py:4) 90",
        ]
    )

    summary = _benchmark().summarize_stacks(collapsed)

    inclusive, innermost = summary.split("--- self\n")
    assert inclusive.splitlines()[0] == "10 samples in the app"
    assert "  80.0%  handle (routes.py)" in inclusive  # recursion counted once
    assert "  60.0%  fetch (connection.py)" in inclusive
    assert "select" not in summary  # the idle loop is not the app's
    assert innermost.splitlines()[:3] == [
        "  60.0%  fetch (connection.py)",
        "  20.0%  handle (routes.py)",
        "  20.0%  dumps (bodies.py)",
    ]
