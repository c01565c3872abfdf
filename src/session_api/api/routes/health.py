"""Liveness and readiness for ops."""

from __future__ import annotations

import logging

from session_api.api.deps import ContextDep
from session_api.api.routing import ResourceRouter
from session_api.api.schemas.health import Health
from session_api.api.schemas.problems import Problem
from session_api.db.engine import ping
from session_api.errors import ServiceUnavailable

router = ResourceRouter(tags=["ops"])
log = logging.getLogger("session_api")


@router.get("/healthz")
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    responses={503: {"model": Problem, "description": "The database cannot be reached."}},
)
async def readyz(ctx: ContextDep) -> Health:
    """The database answers."""
    try:
        await ping(ctx.engine)
    except Exception as error:
        # An outage must show in the logs, not only in the answer to the orchestrator.
        log.warning("database unreachable: %s: %s", type(error).__name__, error)
        raise ServiceUnavailable(
            f"The database cannot be reached ({type(error).__name__})."
        ) from error
    return Health(status="ready")
