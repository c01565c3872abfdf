"""Session versions as entity tags, and what an `If-Match` header accepts."""

from __future__ import annotations

import pytest

from session_api.api.etags import etag, if_match_versions


@pytest.mark.parametrize(
    ("header", "versions"),
    [
        (None, None),
        ("*", None),
        ('"v1", *', None),
        ('"v3"', frozenset({3})),
        ('W/"v3"', frozenset({3})),
        (' "v3" , "v10"', frozenset({3, 10})),
        ('"v03"', frozenset()),
        ('"x1"', frozenset()),
        ("", frozenset()),
    ],
)
def test_if_match_names_the_versions_it_accepts(
    header: str | None, versions: frozenset[int] | None
) -> None:
    assert if_match_versions(header) == versions


def test_a_version_round_trips_through_its_etag() -> None:
    assert if_match_versions(etag(7)) == frozenset({7})
