"""`Idempotency-Key`: a retried write with the same key and body replays the first answer.

Keys are scoped to the caller (`role:id` of the token). The first answer is stored after the
use case has committed, for every status below 500; a retry with the same key and another
method, path or body is 422 `idempotency_key_reused`. Two requests with one key racing each
other may both run (the second stored answer is dropped); clients retry after an answer, not
alongside one. Keys are kept for 24 hours.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from session_api.api.problems import problem_response
from session_api.auth import TokenVerifier
from session_api.errors import (
    DomainError,
    IdempotencyKeyReused,
    ServiceUnavailable,
    ValidationProblem,
)
from session_api.services.context import Context

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 200
KEEP_FOR = timedelta(hours=24)
log = logging.getLogger("session_api")
REPLAYED_HEADERS = ("content-type", "etag", "location")


class IdempotencyMiddleware:
    """Replays stored answers for write requests that carry an `Idempotency-Key` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value for name, value in scope["headers"]}
        raw_key = headers.get("idempotency-key")
        actor = self._actor(scope, headers.get("authorization"))
        if raw_key is None or actor is None:
            # Without a key, or without a valid token (the app answers 401), nothing to keep.
            await self.app(scope, receive, send)
            return
        try:
            key = _checked_key(raw_key)
        except DomainError as error:
            await _send_problem(error, scope, receive, send)
            return

        body, receive = await _buffer(receive)
        fingerprint = hashlib.sha256(
            b"\n".join(
                [scope["method"].encode(), scope["path"].encode(), scope["query_string"], body]
            )
        ).hexdigest()
        context: Context = scope["app"].state.context
        try:
            async with context.reading() as uow:
                stored = await uow.idempotency.find(actor, key)
        except (DBAPIError, PoolTimeoutError, ServiceUnavailable):
            busy = ServiceUnavailable("The database is busy or unreachable; retry in a moment.")
            await _send_problem(busy, scope, receive, send)
            return
        if stored is not None and stored.created_at > context.now() - KEEP_FOR:
            if stored.request_hash != fingerprint:
                reused = IdempotencyKeyReused(
                    "This Idempotency-Key was already used with another request; "
                    "use a new key for a new request."
                )
                await _send_problem(reused, scope, receive, send)
                return
            await _replay(stored, send)
            return

        answer: dict[str, Any] = {"status": 0, "headers": [], "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, receive, capture)
        if 0 < answer["status"] < 500:
            kept = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in answer["headers"]
                if name.decode("latin-1").lower() in REPLAYED_HEADERS
            }
            record = {
                "principal": actor,
                "key": key,
                "request_hash": fingerprint,
                "status_code": answer["status"],
                "response_body": bytes(answer["body"]).decode("utf-8"),
                "response_headers": kept,
                "created_at": context.now(),
            }
            try:
                async with context.writing() as uow:
                    if stored is not None:
                        await uow.idempotency.forget(actor, key)
                    await uow.idempotency.keep(record)
                    await uow.commit()
            except (DBAPIError, PoolTimeoutError, ServiceUnavailable):
                # The answer is already sent; a retry will run the request again.
                log.warning("could not keep the answer for Idempotency-Key %r", key)

    @staticmethod
    def _actor(scope: Scope, authorization: bytes | None) -> str | None:
        if authorization is None:
            return None
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer":
            return None
        verifier: TokenVerifier = scope["app"].state.token_verifier
        try:
            return verifier.verify(token.strip()).actor
        except DomainError:
            return None


def _checked_key(raw: bytes) -> str:
    key = raw.decode("latin-1").strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationProblem(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters."
        )
    return key


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole body, and a `receive` that hands it to the app again."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


async def _replay(stored: Any, send: Send) -> None:
    body = stored.response_body.encode("utf-8")
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in dict(stored.response_headers).items()
    ]
    headers += [
        (b"content-length", str(len(body)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_problem(error: DomainError, scope: Scope, receive: Receive, send: Send) -> None:
    response = problem_response(
        error.status, error.code, error.title, error.detail, error.extensions
    )
    await response(scope, receive, send)


def with_idempotency_key(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the optional `Idempotency-Key` header on every write operation."""
    parameter = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Retry-safe writes: the same key and body replay the first answer; "
        "the same key with another body is 422 `idempotency_key_reused`.",
        "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
    }
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method.upper() in WRITE_METHODS:
                operation.setdefault("parameters", []).append(parameter)
    return schema
