"""What a request must pass before any route reads it: one set of credentials, a bounded body.

- Two `Authorization` headers are refused (401): the idempotency scope and the caller must
  never be read from different ones.
- A request to `/v1/` carrying a body must carry a valid bearer token first (401 before a byte
  of the body is read).
- Bodies are at most `MAX_BODY_BYTES`: a larger `Content-Length` is refused at once, a
  streamed body as soon as it passes the limit (413 `payload_too_large`); memory per request
  stays bounded.
- A JSON body must be UTF-8, nest at most `MAX_DEPTH` levels, hold no integer of more than
  `MAX_DIGITS` digits and no NUL or lone surrogate in any string (422 `validation_error`):
  values no route, parser or database should ever see.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from session_api.api.problems import send_problem
from session_api.auth import TokenVerifier
from session_api.errors import DomainError, PayloadTooLarge, Unauthorized, ValidationProblem

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_DIGITS = 30
API_PREFIX = "/v1/"


class RequestGuardMiddleware:
    """Refuses duplicate credentials, unauthenticated or oversized bodies and hostile JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorization: list[bytes] = []
        length: bytes | None = None
        chunked = False
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization.append(value)
            elif name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"content-type":
                content_type = value
        try:
            if len(authorization) > 1:
                raise Unauthorized("Send one Authorization header, not several.")
            has_body = chunked or (length is not None and length.strip() not in (b"", b"0"))
            if not has_body:
                await self.app(scope, receive, send)
                return
            if scope["path"].startswith(API_PREFIX):
                _verify(scope, authorization[0] if authorization else None)
            _check_length(length)
            body = await read_body(receive)
            if _is_json(content_type):
                check_json(body)
        except DomainError as error:
            await send_problem(error, scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)


def _verify(scope: Scope, authorization: bytes | None) -> None:
    scheme, _, token = (authorization or b"").decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send 'Authorization: Bearer <token>'.")
    verifier: TokenVerifier = scope["app"].state.token_verifier
    verifier.verify(token.strip())


def _check_length(length: bytes | None) -> None:
    if length is None:
        return
    try:
        declared = int(length)
    except ValueError:
        raise ValidationProblem("Content-Length is not a number.") from None
    if declared > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body may be at most {MAX_BODY_BYTES} bytes.")


async def read_body(receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body; 413 `payload_too_large` as soon as it passes `limit`."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body may be at most {limit} bytes.")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands a body already read to the app, then passes on."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return not media or media == b"application/json" or media.endswith(b"+json")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"an integer of more than {MAX_DIGITS} digits")
    return int(text)


def check_json(body: bytes) -> None:
    """Refuse a JSON body no route should parse: 422 `validation_error` saying why."""
    if not body:
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationProblem("The body is not UTF-8.") from None
    try:
        document = json.loads(text, parse_int=_bounded_int)
    except RecursionError:
        raise ValidationProblem(f"The body nests deeper than {MAX_DEPTH} levels.") from None
    except ValueError as error:
        raise ValidationProblem(f"The body is not valid JSON: {error}.") from None
    for depth, text_value in _walk(document):
        if depth > MAX_DEPTH:
            raise ValidationProblem(f"The body nests deeper than {MAX_DEPTH} levels.")
        if text_value is not None and not _storable(text_value):
            raise ValidationProblem("Text in the body holds a NUL or a lone surrogate.")


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _walk(document: object) -> Iterator[tuple[int, str | None]]:
    """Every value with its depth; strings (keys too) are handed out as text."""
    stack: list[tuple[int, object]] = [(0, document)]
    while stack:
        depth, value = stack.pop()
        if isinstance(value, dict):
            yield depth + 1, None
            for key, member in value.items():
                yield depth + 1, key
                stack.append((depth + 1, member))
        elif isinstance(value, list):
            yield depth + 1, None
            stack.extend((depth + 1, member) for member in value)
        elif isinstance(value, str):
            yield depth, value
