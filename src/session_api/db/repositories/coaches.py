"""Coaches."""

from __future__ import annotations

from session_api.db.models import coaches
from session_api.db.repositories.base import Repository


class CoachRepository(Repository):
    """Queries of the coaches table."""

    table = coaches
