"""`Idempotency-Key`: a retried write with the same key and body replays the first answer.

Keys are scoped to the caller (`role:id` of the token). The key is taken, in its own committed
transaction, before the request runs, so a retry that arrives while the first runs answers 409
`idempotency_key_in_use`; with another method, path or body it answers 422
`idempotency_key_reused`.

The answer is stored in the same transaction as the change it reports: the request runs inside
`deferred_commit()`, so its service's commit leaves the write transaction open; the answer is
written on that connection and both commit at once, before the answer is sent. Either both are
durable (a retry replays) or neither is: when storing the answer or the commit fails, the
client gets 503 `service_unavailable` instead of the success, and the key is freed, so a retry
does the work exactly once. Answers of 500 and above roll the change back and free the key too.
A request that held no change back (a refusal, a write that never reached its commit) stores
its answer in a transaction of its own.

A key whose request never answered (its process died) can be taken again after
`ABANDONED_AFTER`; answers are kept for `KEEP_FOR`.

Secrets are never kept: a JSON member named `secret` or ending in `_secret` is stored as
`"redacted"`, so a replay of, for example, a webhook creation carries the subscription but not
its secret (rotate it to get a new one). An answer that is nothing but a secret (a new calendar
key) says `Cache-Control: no-store`; it is not kept at all: the key is freed with the change's
commit, and a retry makes a new secret, which replaces the first.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from session_api.api.guard import read_body, replaying
from session_api.api.metrics import every_route
from session_api.api.problems import WRITE_METHODS, declare_on_writes, send_problem
from session_api.auth import TokenVerifier
from session_api.db.repositories.idempotency import KeyRecord
from session_api.db.unit_of_work import UnitOfWork, deferred_commit
from session_api.errors import (
    DomainError,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    ServiceUnavailable,
    ValidationProblem,
)
from session_api.services.context import Context

MAX_KEY_LENGTH = 200
KEEP_FOR = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=2)
REDACTED = "redacted"
REPLAYED_HEADERS = frozenset({"content-type", "etag", "location"})
log = logging.getLogger("session_api")

# Drivers report a connection dropped mid-statement as a plain OSError.
_DATABASE_ERRORS = (DBAPIError, PoolTimeoutError, ServiceUnavailable, OSError)


class IdempotencyMiddleware:
    """Takes the key of a write request before it runs; replays stored answers to retries."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        raw_key = _header(scope, b"idempotency-key")
        # Without a key, nothing to keep (and no database round trip); without a valid
        # token the app answers 401; a path or method no route takes answers 404 or 405.
        actor = None if raw_key is None else _actor(scope)
        if raw_key is None or actor is None or not _routed(scope):
            await self.app(scope, receive, send)
            return
        try:
            key = _checked_key(raw_key)
        except DomainError as error:
            await send_problem(error, scope, receive, send)
            return

        # The guard has read and bounded the body already; this takes it from memory.
        body = await read_body(receive)
        receive = replaying(body, receive)
        fingerprint = hashlib.sha256(
            b"\n".join(
                [scope["method"].encode(), scope["path"].encode(), scope["query_string"], body]
            )
        ).hexdigest()
        context: Context = scope["app"].state.context
        try:
            held = await _take(context, actor, key, fingerprint)
        except _DATABASE_ERRORS:
            busy = ServiceUnavailable("The database is busy or unreachable; retry in a moment.")
            await send_problem(busy, scope, receive, send)
            return
        if held is not None:
            await _answer_retry(held, fingerprint, scope, receive, send)
            return

        answer = _Answer()
        change: UnitOfWork | None = None
        committed = False
        try:
            async with deferred_commit() as deferred:
                await self.app(scope, receive, answer.capture)
                change = deferred.take()
                if change is not None and answer.replayable:
                    committed = await _commit_with_answer(change, actor, key, fingerprint, answer)
                # Leaving the scope rolls back a change that was not committed.
        except BaseException:
            await _release(context, actor, key, fingerprint)
            raise
        if change is None:
            await _settle(context, actor, key, fingerprint, answer)
        elif not committed:
            await _release(context, actor, key, fingerprint)
            if answer.replayable:
                # The success did not become durable, so the client must not receive it.
                lost = ServiceUnavailable(
                    "The change could not be committed; retry with the same Idempotency-Key."
                )
                await send_problem(lost, scope, receive, send)
                return
        await answer.send_to(send)


class _Answer:
    """The app's answer, held back until it is stored."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    @property
    def replayable(self) -> bool:
        """Whether the answer reports the request's outcome: every answer below 500."""
        return 0 < self.status < 500

    @property
    def storable(self) -> bool:
        """Whether the answer may be kept: not when it says `Cache-Control: no-store`."""
        return not any(
            name.lower() == b"cache-control" and b"no-store" in value.lower()
            for name, value in self.headers
        )

    async def send_to(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": bytes(self.body)})

    def kept_headers(self) -> dict[str, str]:
        kept = {}
        for name, value in self.headers:
            lowered = name.decode("latin-1").lower()
            if lowered in REPLAYED_HEADERS:
                kept[lowered] = value.decode("latin-1")
        return kept


async def _take(context: Context, actor: str, key: str, fingerprint: str) -> KeyRecord | None:
    """Take the key for this request (None), or the record of whoever holds it."""
    now = context.now()
    async with context.writing() as uow:
        if await uow.idempotency.take(actor, key, fingerprint, now):
            await uow.commit()
            return None
        held = await uow.idempotency.held(actor, key)
        expired = held is not None and (
            held.created_at < now - KEEP_FOR
            or (held.running and held.created_at < now - ABANDONED_AFTER)
        )
        if held is None or expired:
            await uow.idempotency.retake(actor, key, fingerprint, now)
            await uow.commit()
            return None
        return held


async def _answer_retry(
    held: KeyRecord, fingerprint: str, scope: Scope, receive: Receive, send: Send
) -> None:
    if held.request_hash != fingerprint:
        reused = IdempotencyKeyReused(
            "This Idempotency-Key was already used with another request; "
            "use a new key for a new request."
        )
        await send_problem(reused, scope, receive, send)
    elif held.running:
        in_use = IdempotencyKeyInUse(
            "A request with this Idempotency-Key is still running; retry after it answers."
        )
        await send_problem(in_use, scope, receive, send)
    else:
        await _replay(held, send)


async def _commit_with_answer(
    change: UnitOfWork, actor: str, key: str, fingerprint: str, answer: _Answer
) -> bool:
    """Store the answer in the transaction of the change it reports and commit both."""
    try:
        await _store(change, actor, key, fingerprint, answer)
        await change.commit()
    except _DATABASE_ERRORS as error:
        # The class only: a driver's message can quote the statement's parameters.
        log.warning(
            "could not commit the change and its answer for Idempotency-Key %r: %s",
            key,
            type(error).__name__,
        )
        return False
    return True


async def _settle(
    context: Context, actor: str, key: str, fingerprint: str, answer: _Answer
) -> None:
    """Store the answer of a request that held no change back, in its own transaction."""
    if not answer.replayable:
        await _release(context, actor, key, fingerprint)
        return
    try:
        async with context.writing() as uow:
            await _store(uow, actor, key, fingerprint, answer)
            await uow.commit()
    except _DATABASE_ERRORS:
        # The key stays taken until ABANDONED_AFTER, so a retry meanwhile is 409 rather than
        # a second run.
        log.warning("could not keep the answer for Idempotency-Key %r", key)


async def _store(uow: UnitOfWork, actor: str, key: str, fingerprint: str, answer: _Answer) -> None:
    """Keep the answer under the key, or free the key when the answer may not be kept."""
    if not answer.storable:
        await uow.idempotency.release(actor, key, fingerprint)
        return
    await uow.idempotency.answer(
        actor, key, answer.status, _without_secrets(bytes(answer.body)), answer.kept_headers()
    )


async def _release(context: Context, actor: str, key: str, fingerprint: str) -> None:
    """Free the key of a request that left nothing to replay, for a retry to run."""
    try:
        async with context.writing() as uow:
            await uow.idempotency.release(actor, key, fingerprint)
            await uow.commit()
    except _DATABASE_ERRORS:
        # Nothing was changed; the key frees itself after ABANDONED_AFTER.
        log.warning("could not free Idempotency-Key %r", key)


def _without_secrets(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    if b"secret" not in body:
        return text
    try:
        document = json.loads(text)
    except ValueError:
        return text
    return json.dumps(_redacted(document), separators=(",", ":"))


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            name: REDACTED
            if isinstance(name, str) and (name == "secret" or name.endswith("_secret"))
            else _redacted(member)
            for name, member in value.items()
        }
    if isinstance(value, list):
        return [_redacted(member) for member in value]
    return value


def _routed(scope: Scope) -> bool:
    return any(
        route.matches(scope)[0] is Match.FULL for route in every_route(scope["app"].router.routes)
    )


def _header(scope: Scope, name: bytes) -> bytes | None:
    for header, value in scope["headers"]:
        if header == name:
            return bytes(value)
    return None


def _actor(scope: Scope) -> str | None:
    authorization = _header(scope, b"authorization")
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


async def _replay(stored: KeyRecord, send: Send) -> None:
    body = stored.response_body.encode("utf-8")
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in stored.response_headers.items()
    ]
    headers += [
        (b"content-length", str(len(body)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def with_idempotency_key(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the optional `Idempotency-Key` header on every write operation."""
    parameter = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Retry-safe writes: the same key and body replay the first answer "
        "(`Idempotent-Replayed: true`); while the first request runs, 409 "
        "`idempotency_key_in_use`; the same key with another body is 422 "
        "`idempotency_key_reused`. The answer is stored with the change, in one transaction: "
        "answers of 500 and above are not kept and change nothing, so retry them with the "
        "same key. Kept 24 hours; members named `secret` are replayed as `redacted`.",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    }
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method.upper() in WRITE_METHODS:
                operation.setdefault("parameters", []).append(parameter)
    # `idempotency_key_in_use` (409) and `idempotency_key_reused` (422).
    return declare_on_writes(schema, 409, 422)
