"""`201 Created` answers name what they created in `Location`."""

from __future__ import annotations

from typing import Any

from fastapi import Response

LOCATION_HEADER = {
    "Location": {
        "description": "The path of what was created, relative to the API's origin.",
        "schema": {"type": "string"},
    }
}


def created(**headers: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI declaration of a 201 answer with `Location` (and any other headers)."""
    return {201: {"headers": {**LOCATION_HEADER, **headers}}}


def locate(response: Response, path: str) -> None:
    """Point the 201 answer at what it created."""
    response.headers["Location"] = path
