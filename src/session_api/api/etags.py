"""Session versions as HTTP entity tags: the `ETag` header and `If-Match` preconditions.

Services know versions only; this module turns them into tags and a request's `If-Match`
into the versions it accepts.
"""

from __future__ import annotations

import re

_TAG = re.compile(r'"v(0|[1-9][0-9]*)"')


def etag(version: int) -> str:
    """The ETag of a session version."""
    return f'"v{version}"'


def if_match_versions(if_match: str | None) -> frozenset[int] | None:
    """The versions an `If-Match` header accepts; None when it accepts any (absent, or `*`).

    Weak tags compare like strong ones; a tag this API never gave out accepts nothing.
    """
    if if_match is None:
        return None
    tags = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    if "*" in tags:
        return None
    return frozenset(int(match[1]) for tag in tags if (match := _TAG.fullmatch(tag)))
