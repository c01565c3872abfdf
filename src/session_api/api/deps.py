"""Dependencies, as `Annotated` aliases the routers declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from session_api.auth import Principal, TokenVerifier
from session_api.config import Settings
from session_api.errors import Unauthorized, ValidationProblem
from session_api.services.context import Context

_bearer = HTTPBearer(auto_error=False, description="A JWT with `sub`, `role` and `exp`.")


async def get_context(request: Request) -> Context:
    """The services' context built in the lifespan."""
    context: Context = request.app.state.context
    return context


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller; 401 without a valid bearer token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send 'Authorization: Bearer <token>'.")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(credentials.credentials)


async def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The verified caller, or None when the request carries no token at all."""
    if credentials is None:
        return None
    return await get_principal(request, credentials)


# By route (the route is kept too, so its id is never reused while cached).
_DECLARED: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def _declared_query(route: APIRoute) -> frozenset[str]:
    known = _DECLARED.get(id(route))
    if known is not None:
        return known[1]
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(parameter.alias for parameter in dependant.query_params)
        pending.extend(dependant.dependencies)
    _DECLARED[id(route)] = (route, frozenset(names))
    return _DECLARED[id(route)][1]


async def refuse_unknown_query(request: Request) -> None:
    """422 naming a query parameter the route does not take, so a typo never goes unseen."""
    if not request.scope["query_string"]:
        return
    route = request.scope.get("route")
    declared = _declared_query(route) if isinstance(route, APIRoute) else frozenset()
    unknown = sorted(set(request.query_params) - declared)
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


ContextDep = Annotated[Context, Depends(get_context)]
OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
