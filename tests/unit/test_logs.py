"""Log lines are JSON and never carry e-mail addresses, tokens, calendar keys or secrets."""

from __future__ import annotations

import json
import logging
import sys

from session_api.logs import JsonFormatter, logging_config, redact, request_id


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("session_api", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_secrets_and_addresses_are_masked() -> None:
    text = redact(
        "550 <maia.k+work@mail.example.co.uk> refused; Authorization: Bearer abc.def-ghi "
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln /calendar.ics?key=k3y_Secret&x=1 "
        "whsec_c2VjcmV0+/="
    )
    assert text == (
        "550 <<email>> refused; Authorization: Bearer <token> <token> "
        "/calendar.ics?key=<key>&x=1 whsec_<secret>"
    )


def test_a_line_is_json_with_the_request_id_and_extra_fields() -> None:
    token = request_id.set("req-1")
    try:
        line = json.loads(JsonFormatter().format(_record("sent to %s", "a@b.example", route="/x")))
    finally:
        request_id.reset(token)
    assert line["message"] == "sent to <email>"
    assert line["request_id"] == "req-1"
    assert line["route"] == "/x"
    assert line["level"] == "WARNING"
    assert line["logger"] == "session_api"


def test_exceptions_are_one_line_and_masked() -> None:
    try:
        raise RuntimeError("cannot deliver to x@y.example")
    except RuntimeError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    text = JsonFormatter().format(record)
    assert "\n" not in text
    assert "x@y.example" not in json.loads(text)["exception"]


def test_http_client_libraries_do_not_log_each_request() -> None:
    loggers = logging_config()["loggers"]
    assert loggers["httpx"]["level"] == "WARNING"
    assert loggers["httpcore"]["level"] == "WARNING"


def test_a_line_orjson_refuses_is_still_written() -> None:
    line = json.loads(JsonFormatter().format(_record("counted", huge=2**70)))
    assert line["huge"] == 2**70
    assert line["message"] == "counted"
