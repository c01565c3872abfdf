"""Dependencies, as `Annotated` aliases the routers declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from session_api.auth import Principal, TokenVerifier
from session_api.config import Settings
from session_api.errors import Unauthorized
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


ContextDep = Annotated[Context, Depends(get_context)]
OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
