"""Programs."""

from __future__ import annotations

from session_api.db.models import programs
from session_api.db.repositories.base import Repository


class ProgramRepository(Repository):
    """Queries of the programs table."""

    table = programs
