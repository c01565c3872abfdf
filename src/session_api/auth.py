"""Bearer JWT verification and the principal a request acts as."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from session_api.config import Settings
from session_api.errors import Forbidden, Unauthorized

MAX_SUBJECT_LENGTH = 90
# 9999-12-31T23:59:59Z: an `exp` beyond it is no time a token could mean.
LATEST_EXP = 253_402_300_799.0


class Role(StrEnum):
    """Who a caller is to the service."""

    ADMIN = "admin"
    COACH = "coach"
    COACHEE = "coachee"


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller: a role and the id it acts as."""

    role: Role
    subject: str

    @property
    def actor(self) -> str:
        """How the caller is named in history and `created_by`: "coach:<id>"."""
        return f"{self.role}:{self.subject}"

    @property
    def is_admin(self) -> bool:
        """Whether the caller manages everything."""
        return self.role is Role.ADMIN

    def person_id(self) -> uuid.UUID:
        """The coach's or coachee's id (their tokens were checked to carry one)."""
        return uuid.UUID(self.subject)

    def require_admin(self) -> None:
        """Refuse anything but an admin (for resources the caller can already see)."""
        if not self.is_admin:
            raise Forbidden("Only an admin may do this.")


class TokenVerifier:
    """Verifies bearer tokens with the algorithms fixed by configuration, never by the token.

    A client sends the same token with every request, so verified tokens are remembered (up
    to `CACHE_SIZE`) until their `exp`: signature checks cost more than the rest of a read.
    """

    CACHE_SIZE = 4096

    def __init__(self, settings: Settings) -> None:
        settings.refuse_without_token_key()
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._algorithms = list(settings.jwt_algorithms)
        if settings.jwt_public_key is not None:
            self._key: str = settings.jwt_public_key
        else:
            assert settings.jwt_secret is not None
            self._key = settings.jwt_secret.get_secret_value()
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; 401 `unauthorized` for anything else."""
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, expires = remembered
            if time.time() < expires:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "sub"], "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(f"The bearer token is not valid: {error}.") from None
        expires = _remember_until(claims["exp"])
        principal = principal_from_claims(claims)
        self._verified[token] = (principal, expires)
        if len(self._verified) > self.CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal


def _remember_until(exp: object) -> float:
    """The token's `exp` as a timestamp; PyJWT accepts any integer, this only real times."""
    try:
        expires = float(exp)  # type: ignore[arg-type]
    except (OverflowError, TypeError, ValueError):
        expires = float("inf")
    if not expires <= LATEST_EXP:
        raise Unauthorized("The token's exp is not a time.")
    return expires


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Check `role` and `sub`; a coach's or coachee's subject must be their id."""
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        raise Unauthorized("The token's role must be admin, coach or coachee.") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise Unauthorized("The token's subject is missing or too long.")
    if role is not Role.ADMIN:
        try:
            subject = str(uuid.UUID(subject))
        except ValueError:
            raise Unauthorized(f"A {role} token's subject must be the {role}'s id.") from None
    return Principal(role=role, subject=subject)


def issue_token(
    settings: Settings,
    *,
    role: Role,
    subject: str,
    ttl: timedelta,
    private_key: str | None = None,
) -> str:
    """Sign a token for operators and local use (`session-api token`)."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {"sub": subject, "role": str(role), "iat": now, "exp": now + ttl}
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if private_key is not None:
        return jwt.encode(claims, private_key, algorithm=settings.jwt_algorithms[0])
    if settings.jwt_secret is None:
        raise Forbidden("Signing needs SESSION_API_JWT_SECRET or a private key.")
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
