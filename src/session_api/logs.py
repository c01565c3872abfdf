"""JSON-lines logging, with the request id on every line and secrets and e-mail addresses masked."""

from __future__ import annotations

import json
import logging
import logging.config
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

# The id of the request being answered; set by the request-log middleware, read by every line.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else was passed through `extra=` and is a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's message again, with terminal colours
}
# What must never reach a log: e-mail addresses, bearer tokens and JWTs, calendar keys and
# webhook secrets (driver and SMTP errors quote addresses; a URL may carry `?key=`).
_SECRETS = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (re.compile(r"(?i)bearer\s+[\w.~+/=-]+"), "Bearer <token>"),
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*"), "<token>"),
    (re.compile(r"(?i)([?&]key=)[^&\s\"']+"), r"\1<key>"),
    (re.compile(r"whsec_[\w+/=]+"), "whsec_<secret>"),
)
# Loggers of libraries that would otherwise log every webhook POST at INFO.
_QUIET = ("httpx", "httpcore")


def _encode(line: dict[str, Any]) -> str:
    # orjson: 0.4 us a line where the standard library's encoder took 4.3 (every request
    # writes one); anything it does not know is written as its text.
    try:
        return orjson.dumps(line, default=str).decode()
    except orjson.JSONEncodeError:  # what orjson refuses (an integer past 64 bits) json takes
        return json.dumps(line, default=str)


# Every secret above contains one of these; most lines contain none and skip the patterns.
_MARKERS = ("@", "earer", "eyJ", "key=", "whsec_")


def redact(text: str) -> str:
    """The text with e-mail addresses, tokens, calendar keys and webhook secrets masked."""
    if not any(marker in text for marker in _MARKERS):
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        current = request_id.get()
        if current is not None:
            line["request_id"] = current
        fields = vars(record)
        for name in fields.keys() - _STANDARD:
            line[name] = fields[name]
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return _encode(line)


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` that sends every logger, uvicorn's too, out as JSON."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's own handlers would print plain text; its records go to the root.
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            # The request-log middleware writes one line per request, with its id.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            **{name: {"level": "WARNING"} for name in _QUIET},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    """Send this process's logs, and Python warnings, out as JSON lines on stderr."""
    logging.config.dictConfig(logging_config(level))
    logging.captureWarnings(True)
