"""The adapters in `notify/` never reach up into the use cases: no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import session_api.notify

NOTIFY = Path(session_api.notify.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_notify_imports_neither_services_nor_the_database() -> None:
    imports = {path.name: _imported_modules(path) for path in NOTIFY.glob("*.py")}
    upward = {
        name: sorted(m for m in modules if m.startswith(("session_api.services", "session_api.db")))
        for name, modules in imports.items()
    }
    assert "messages.py" in imports
    assert {name: found for name, found in upward.items() if found} == {}
