"""Reading sessions and guarding their changes: visibility, ETags, If-Match, read-back."""

from __future__ import annotations

import uuid

from session_api.auth import Principal
from session_api.db.repositories.sessions import NumberedSession, RecordedChange
from session_api.db.unit_of_work import UnitOfWork
from session_api.domain.booking import SessionFacts
from session_api.errors import PreconditionFailed
from session_api.services import access
from session_api.services.access import not_found
from session_api.services.context import Context


def etag(version: int) -> str:
    """The ETag of a session version."""
    return f'"v{version}"'


async def get_session(ctx: Context, principal: Principal, session_id: uuid.UUID) -> NumberedSession:
    """One session the caller may see, numbered."""
    async with ctx.reading() as uow:
        return await visible_numbered(uow, principal, session_id)


async def session_history(
    ctx: Context, principal: Principal, session_id: uuid.UUID
) -> list[RecordedChange]:
    """A session's changes, oldest first."""
    async with ctx.reading() as uow:
        await visible_numbered(uow, principal, session_id)
        return await uow.sessions.history(session_id)


async def finish(uow: UnitOfWork, session_id: uuid.UUID) -> NumberedSession:
    """Read the changed session back and commit, before any answer is built."""
    changed = await uow.sessions.numbered(session_id)
    assert changed is not None
    await uow.commit()
    return changed


async def visible_numbered(
    uow: UnitOfWork, principal: Principal, session_id: uuid.UUID
) -> NumberedSession:
    session = await uow.sessions.numbered(session_id)
    if session is None or not access.may_see(
        principal, session.coachee_id, session.coachee_coach_id
    ):
        raise not_found("session", session_id)
    return session


async def locked_for_change(
    uow: UnitOfWork, principal: Principal, session_id: uuid.UUID, if_match: str | None
) -> SessionFacts:
    current = await uow.sessions.lock_for_change(session_id)
    if current is None or not access.may_see(
        principal, current.booking.coachee_id, current.coachee_coach_id
    ):
        raise not_found("session", session_id)
    if if_match is not None and not _matches(if_match, current.version):
        raise PreconditionFailed(
            f"The session changed since you read it (it is now at version {current.version}); "
            "read it again and retry.",
            current_etag=etag(current.version),
        )
    return current


def _matches(if_match: str, version: int) -> bool:
    wanted = etag(version)
    tags = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    return "*" in tags or wanted in tags
