"""Dependencies, as `Annotated` aliases the routers declare."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import QueryParams

from session_api.auth import Principal, TokenVerifier
from session_api.config import Settings
from session_api.errors import Unauthorized, ValidationProblem
from session_api.services.context import Context


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, and the services' context to answer with."""

    ctx: Context
    principal: Principal


class _Bearer(HTTPBearer):
    """The caller named by the bearer token, read and verified in one dependency.

    FastAPI solves every dependency on every request, about 68,000 instructions each
    whatever it does (6% of reading one session), so a route declares this one alone for
    its caller and the context (`CallerDep`). As an `HTTPBearer`, it still gives
    `openapi.json` the scheme; it reads the header itself, where its base would build a
    Pydantic model of the credentials first.
    """

    def __init__(self) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="HTTPBearer",
            description="A JWT with `sub`, `role` and `exp`.",
        )

    def principal(self, request: Request) -> Principal | None:
        """The verified caller, or None without a bearer token; 401 for a bad token."""
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        if not token or scheme.lower() != "bearer":
            return None
        verifier: TokenVerifier = request.app.state.token_verifier
        return verifier.verify(token)

    # FastAPI calls a dependency with what its signature asks for; this one answers the
    # caller where its base answered the credentials.
    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        """The verified caller with the context; 401 without a bearer token."""
        principal = self.principal(request)
        if principal is None:
            raise Unauthorized("Send 'Authorization: Bearer <token>'.")
        return Caller(request.app.state.context, principal)


class _OptionalBearer(_Bearer):
    """The verified caller when the request names one (feeds that also take a signed link)."""

    async def __call__(self, request: Request) -> Principal | None:  # type: ignore[override]
        """The verified caller, or None without a bearer token; 401 for a bad token."""
        return self.principal(request)


get_caller = _Bearer()
get_optional_principal = _OptionalBearer()


async def get_context(request: Request) -> Context:
    """The services' context built in the lifespan (for routes that need no caller)."""
    context: Context = request.app.state.context
    return context


async def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def _declared_query(route: APIRoute) -> frozenset[str]:
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(parameter.alias for parameter in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


def refuse_unknown_query(query: QueryParams, declared: frozenset[str]) -> None:
    """422 naming a query parameter the route does not take, so a typo never goes unseen."""
    unknown = sorted(set(query) - declared)
    if unknown:
        raise ValidationProblem(
            f"Unknown query parameter {unknown[0]!r}"
            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            + (f"; this route takes {', '.join(sorted(declared))}." if declared else "."),
            errors=[
                {"loc": ["query", name], "msg": "not a parameter", "type": "extra_forbidden"}
                for name in unknown
            ],
        )


class QueryCheckedRoute(APIRoute):
    """A route that refuses unknown query parameters (422) before its dependencies run.

    Every router uses it. It wraps the handler rather than being an app-wide dependency:
    FastAPI solves a dependency on every request (~20 us), a request without a query string
    costs this one check of `query_string`, and the declared names are collected once.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, behind the query check."""
        handler = super().get_route_handler()
        declared: frozenset[str] | None = None

        async def checked(request: Request) -> Response:
            nonlocal declared
            if request.scope["query_string"]:
                if declared is None:
                    declared = _declared_query(self)
                refuse_unknown_query(request.query_params, declared)
            return await handler(request)

        return checked


CallerDep = Annotated[Caller, Depends(get_caller)]
ContextDep = Annotated[Context, Depends(get_context)]
OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
