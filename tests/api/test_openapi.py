"""The committed `openapi.json` is what the app serves, and it tells clients the truth."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from session_api.cli import openapi_document

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
async def test_committed_document_matches_the_app(client: httpx.AsyncClient) -> None:
    committed = json.loads((ROOT / "openapi.json").read_text())
    served = (await client.get("/openapi.json")).json()
    assert committed == served, "openapi.json drifted: run `session-api openapi`"
    assert json.loads(openapi_document()) == served


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in document["paths"].values() for op in item.values()]


def test_operation_ids_are_clean_and_unique() -> None:
    operations = _operations(json.loads(openapi_document()))
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", op_id) for op_id in ids), ids


def test_every_error_is_declared_as_problem_json() -> None:
    document = json.loads(openapi_document())
    for operation in _operations(document):
        errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
        assert errors or operation["operationId"] in {"healthz", "metrics"}
        for status, response in errors.items():
            assert list(response["content"]) == ["application/problem+json"], (
                operation["operationId"],
                status,
            )
        if operation["operationId"] not in {"healthz", "readyz", "metrics"}:
            assert {"401", "422"} <= errors.keys(), operation["operationId"]
