"""RFC 9457 problem responses: one handler for every error, and their OpenAPI declarations."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import Field, TypeAdapter
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from session_api.api.metrics import matching_routes
from session_api.api.schemas.problems import (
    MonthlyLimitReachedProblem,
    Problem,
    TimeConflictProblem,
    ValidationErrorProblem,
)
from session_api.errors import (
    DomainError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationProblem,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
log = logging.getLogger("session_api")

# PostgreSQL states worth a retry by the client: serialization failure, deadlock, too many
# connections, shutting down; SQLite answers "database is locked" after its busy timeout.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "53300", "57P01", "57P03"})


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    extensions: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json answer; `type` is a stable URN per code; extensions never hide members."""
    body = {
        **jsonable_encoder(extensions or {}),
        "type": f"urn:session-api:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if status == 503:
        headers = {**(headers or {}), "Retry-After": "1"}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _from_domain(error: DomainError, headers: dict[str, str] | None = None) -> JSONResponse:
    return problem_response(
        error.status, error.code, error.title, error.detail, error.extensions, headers
    )


async def send_problem(error: DomainError, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a problem from ASGI middleware, before any route runs."""
    await _from_domain(error)(scope, receive, send)


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return _from_domain(error)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type")}
        for item in error.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid"}
    where = ".".join(str(part) for part in first["loc"] if part != "body") or "request"
    detail = f"{where}: {first['msg']}" + (
        f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    )
    return _from_domain(ValidationProblem(detail, errors=errors))


def _allowed_methods(request: Request) -> str:
    """The methods of the path the request names (a route declares one method, a path may
    have several); `/v1/sessions/batch` is not also `/v1/sessions/{session_id}`: the path
    with the fewest parameters is the one named, whatever order routes are tried in."""
    routes = list(matching_routes(request.scope))
    paths = [path for route in routes if isinstance(path := getattr(route, "path", None), str)]
    template = min(paths, key=lambda path: path.count("{"), default=None)
    methods: set[str] = set()
    for route in routes:
        if getattr(route, "path", None) == template:
            methods.update(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    if error.status_code == 404:
        return _from_domain(NotFound("No such resource or route."), headers)
    if error.status_code == 405:
        allowed = headers.get("Allow", "")
        refusal = MethodNotAllowed(f"This route does not take that method; it takes {allowed}.")
        return _from_domain(refusal, headers)
    if error.status_code == 413:
        return _from_domain(PayloadTooLarge(str(error.detail)), headers)
    if error.status_code in (400, 422):
        # FastAPI refuses a body it cannot parse with a bare 400.
        return _from_domain(ValidationProblem(f"The body cannot be read: {error.detail}."))
    return problem_response(error.status_code, "http_error", "HTTP error", str(error.detail))


async def _database_error(_request: Request, error: Exception) -> JSONResponse:
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    message = str(getattr(error, "orig", error))
    if isinstance(error, PoolTimeoutError) or (
        isinstance(error, DBAPIError)
        and (
            error.connection_invalidated
            or sqlstate in RETRYABLE_SQLSTATES
            or "database is locked" in message
        )
    ):
        log.warning("database busy or unreachable: %s", message)
        return _from_domain(ServiceUnavailable("The database is busy; retry in a moment."))
    if isinstance(error, DBAPIError) and (
        (sqlstate or "").startswith("22") or type(error.orig).__name__ == "DataError"
    ):
        # A value the database cannot hold (class 22: data exception) slipped past the schema.
        log.warning("data refused by the database: %s", message)
        return _from_domain(ValidationProblem("A value cannot be stored as given."))
    return await _unexpected(_request, error)


async def _connection_lost(_request: Request, error: Exception) -> JSONResponse:
    # Drivers report a connection dropped mid-request as a plain OSError.
    log.warning("connection failure: %r", error)
    return _from_domain(ServiceUnavailable("A connection to the database failed; retry."))


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected failure on %s %s", request.method, request.url.path, exc_info=error)
    return problem_response(
        500, "internal_error", "Internal error", "Something went wrong on our side; it was logged."
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every failure, expected or not, to a problem+json answer."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _database_error)
    app.add_exception_handler(OSError, _connection_lost)
    app.add_exception_handler(Exception, _unexpected)


_DESCRIPTIONS = {
    401: "No or bad bearer token (`unauthorized`).",
    403: "The caller may see this but not do this (`forbidden`).",
    404: "Unknown, malformed or another tenant's id (`not_found`).",
    409: "Refused by a rule of the domain, or the `Idempotency-Key` is still in use.",
    412: "`If-Match` names an older version (`precondition_failed`).",
    413: "The body is larger than 1 MiB (`payload_too_large`).",
    422: "The request is not valid.",
    503: "The database is busy or unreachable; retry (`service_unavailable`).",
}
_BY_STATUS: dict[int, Any] = {
    409: Annotated[
        MonthlyLimitReachedProblem | TimeConflictProblem | Problem, Field(discriminator="code")
    ],
    422: Annotated[ValidationErrorProblem | Problem, Field(discriminator="code")],
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Declare a route's error answers; 401, 413, 422 and 503 are declared on every route."""
    declared = sorted({*statuses, 401, 413, 422, 503})
    return {
        status: {
            "model": _BY_STATUS.get(status, Problem),
            "description": _DESCRIPTIONS.get(status, "A problem."),
        }
        for status in declared
    }


def declare_on_writes(schema: dict[str, Any], *statuses: int) -> dict[str, Any]:
    """Declare error answers every write operation can give (from middleware, not routes)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for status in statuses:
        model = _BY_STATUS.get(status, Problem)
        body = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in body.pop("$defs", {}).items():
            components.setdefault(name, definition)
        response = {
            "description": _DESCRIPTIONS.get(status, "A problem."),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": body}},
        }
        for path_item in schema.get("paths", {}).values():
            for method, operation in path_item.items():
                if method.upper() in WRITE_METHODS:
                    operation.setdefault("responses", {}).setdefault(str(status), response)
    return schema


def as_problem_media_type(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite every declared 4xx/5xx body in an OpenAPI document to problem+json."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if str(status)[0] in "45" and "content" in response:
                    content = response["content"]
                    body = content.pop("application/json", None) or next(iter(content.values()))
                    response["content"] = {PROBLEM_MEDIA_TYPE: body}
    return schema
