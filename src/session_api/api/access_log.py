"""Secrets in query strings (the calendar `?key=`) never reach the access log."""

from __future__ import annotations

import logging
import re

SECRET_PARAMETERS = ("key", "token", "access_token", "secret")
REDACTED = "redacted"
_SECRET_VALUE = re.compile(r"([?&](?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&#\s]*")


def redact_query(text: str) -> str:
    """The path with the values of secret query parameters replaced."""
    return _SECRET_VALUE.sub(rf"\g<1>{REDACTED}", text)


class RedactQuerySecrets(logging.Filter):
    """Rewrites the path in uvicorn's access log records, and in any message holding one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_query(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        return True


def install_access_log_redaction() -> None:
    """Attach the filter to uvicorn's access logger once per process."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, RedactQuerySecrets) for existing in logger.filters):
        logger.addFilter(RedactQuerySecrets())
