"""The README and the integrator's guide stand alone, and their code samples work."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

from session_api.notify import signing

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _python_block(page: str, after: str) -> str:
    text = (ROOT / "docs" / page).read_text()
    return text.split(after, 1)[1].split("```python\n", 1)[1].split("```", 1)[0]


def test_no_page_points_outside_the_repository() -> None:
    assert len(PAGES) >= 7
    for page in PAGES:
        text = page.read_text()
        assert "../shared" not in text, page.name
        assert "SPEC.md" not in text, page.name
        for target in LINK.findall(text):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_the_webhook_verification_sample_accepts_real_deliveries_only() -> None:
    namespace: dict[str, Any] = {}
    exec(_python_block("events-and-webhooks.md", "verification sample"), namespace)  # noqa: S102
    verified_event = namespace["verified_event"]
    secret = signing.generate_secret()
    event_id = str(uuid.uuid4())
    body = json.dumps({"id": event_id, "type": "session.cancelled"}).encode()
    now = int(time.time())
    headers = signing.headers([secret], event_id, now, body)

    assert verified_event(secret, body, headers) == {"id": event_id, "type": "session.cancelled"}
    assert verified_event(secret, body.replace(b"cancelled", b"scheduled"), headers) is None
    assert verified_event(signing.generate_secret(), body, headers) is None
    stale = signing.headers([secret], event_id, now - 3600, body)
    assert verified_event(secret, body, stale) is None


def test_the_time_zone_sample_renders_what_the_page_says() -> None:
    namespace: dict[str, Any] = {}
    exec(_python_block("time-zones.md", "Python:"), namespace)  # noqa: S102
    session = {"starts_at": "2026-12-08T09:00:00Z", "label": "Session 2 of 2"}
    page = (ROOT / "docs" / "time-zones.md").read_text()
    for zone in ("Europe/Berlin", "America/New_York"):
        rendered = namespace["headline"](session, zone)
        assert f"| {rendered} |" in page, rendered
