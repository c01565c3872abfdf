"""Schemathesis hooks for `scripts/fuzz/run.py`: values only the server can make valid.

- An `Idempotency-Key` reused with another body is rightly refused (422
  `idempotency_key_reused`); generated keys are made unique per request so that schema-valid
  requests are judged on their own. Replays are tested in tests/api.
- A `cursor` is an opaque token from a previous page; a generated one is rightly refused as
  forged (422), so generated cursors are dropped. Forged cursors are tested in tests/api.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """Give each request a fresh idempotency key and no made-up cursor."""
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key":
            headers[name] = str(uuid.uuid4())
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
    return case
