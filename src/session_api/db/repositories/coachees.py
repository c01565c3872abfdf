"""Coachees."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from session_api.db.models import coachees
from session_api.db.repositories.base import AnyRow, Repository


class CoacheeRepository(Repository):
    """Queries of the coachees table."""

    table = coachees

    async def page_of_coach(
        self, coach_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[AnyRow]:
        """A page of the coach's coachees, as `page` gives all of them."""
        return await self._page(after, limit, coachees.c.coach_id == coach_id)
