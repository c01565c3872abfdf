"""What the ops endpoints answer."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    """The service's state."""

    status: str
