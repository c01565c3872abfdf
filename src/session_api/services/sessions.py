"""Reading sessions and guarding their changes: visibility, expected versions, read-back."""

from __future__ import annotations

import uuid

from session_api.auth import Principal
from session_api.db.repositories.sessions import NumberedSession, RecordedChange, WrittenSession
from session_api.db.unit_of_work import UnitOfWork
from session_api.domain.booking import BookingFacts, SessionFacts
from session_api.errors import PreconditionFailed
from session_api.services import access
from session_api.services.access import not_found
from session_api.services.context import Context


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


async def commit_written(
    uow: UnitOfWork, written: WrittenSession, facts: BookingFacts, coachee_coach_id: uuid.UUID
) -> NumberedSession:
    """Commit, then show the session as its write returned it, with the locked facts.

    The write's RETURNING numbered it, so nothing is read back.
    """
    await uow.commit()
    return written.shown(
        sessions_per_month=facts.sessions_per_month,
        coachee_name=facts.coachee_name,
        coachee_coach_id=coachee_coach_id,
    )


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
    uow: UnitOfWork,
    principal: Principal,
    session_id: uuid.UUID,
    expected_versions: frozenset[int] | None,
) -> SessionFacts:
    """The session, locked, if the caller may see it and it is at a version they expect.

    `expected_versions` None accepts any version (the caller set no precondition).
    """
    current = await uow.sessions.lock_for_change(session_id)
    if current is None or not access.may_see(
        principal, current.booking.coachee_id, current.coachee_coach_id
    ):
        raise not_found("session", session_id)
    if expected_versions is not None and current.version not in expected_versions:
        raise PreconditionFailed(
            f"The session changed since you read it (it is now at version {current.version}); "
            "read it again and retry.",
            current_version=current.version,
        )
    return current
