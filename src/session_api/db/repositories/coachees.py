"""Coachees."""

from __future__ import annotations

from session_api.db.models import coachees
from session_api.db.repositories.base import Repository


class CoacheeRepository(Repository):
    """Queries of the coachees table."""

    table = coachees
