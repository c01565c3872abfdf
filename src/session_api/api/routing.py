"""Routers that refuse a path outside their own before trying any of their routes.

FastAPI (0.165) tries the routes of every included router in turn, about 16,000 instructions
each: a request paid for every route of every router ahead of its own (GET /healthz, behind
some forty: 1.23 million instructions, 0.44 million with its router first; months, behind
the nine of sessions: 2.73 against 2.58). Each router here knows where its paths begin, so a
request for another path is refused at once; the router whose paths can match tries its
routes as before, so matching (405 for a known path with another method included) is
unchanged. A path without parameters matches only itself, and a router that takes such a
path with other methods only says so at once: a partial match, which becomes a 405 unless a
later router takes the method (GET /v1/sessions used to try every route of the sessions
router to learn that it only takes POST /v1/sessions). Inside a router the routes are tried
in turn, each twice (FastAPI matches the router, then the route in it), so a router may try
its hot routes first (`try_first`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import APIRouter
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from session_api.api.deps import QueryCheckedRoute

# What a route that takes every method (a Starlette route without `methods`) is listed with.
ANY_METHOD = "*"


class Shape(NamedTuple):
    """Where a router's paths lead: the literal beginnings of those with parameters, and the
    methods each path without parameters is taken with."""

    beginnings: tuple[str, ...]
    literal: dict[str, frozenset[str]]


class ResourceRouter(APIRouter):
    """An `APIRouter` whose routes refuse unknown query parameters (`QueryCheckedRoute`) and
    which answers at once for a path none of its routes can take with the method asked."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("route_class", QueryCheckedRoute)
        super().__init__(**options)
        self._shape = Shape((), {})
        self._counted = -1
        self._declared: list[BaseRoute] | None = None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """No match for a path outside this router's, a partial one for a path it takes with
        other methods only; otherwise FastAPI's own matching."""
        # Behind a root path the route path is not `path`; match as FastAPI does.
        if not scope.get("root_path"):
            shape = self.shape()
            path = scope["path"]
            if not path.startswith(shape.beginnings):
                methods = shape.literal.get(path)
                if methods is None:
                    return Match.NONE, {}
                if scope["method"] not in methods and ANY_METHOD not in methods:
                    return Match.PARTIAL, {}
        return super().matches(scope)

    def shape(self) -> Shape:
        """Where the routes' paths lead (worked out again when routes were added)."""
        if self._counted != len(self.routes):  # routes are only ever added
            beginnings: set[str] = set()
            literal: dict[str, set[str]] = {}
            for route in self.routes:
                path: str = getattr(route, "path", "")
                if "{" in path:
                    beginnings.add(path.split("{", 1)[0])
                else:
                    methods = getattr(route, "methods", None) or {ANY_METHOD}
                    literal.setdefault(path, set()).update(methods)
            self._shape = Shape(
                tuple(beginnings), {path: frozenset(methods) for path, methods in literal.items()}
            )
            self._counted = len(self.routes)
        return self._shape

    def try_first(self, *endpoints: Callable[..., Any]) -> None:
        """Try the routes of these endpoints first, in this order; call before including.

        Which route answers does not depend on the order: a route that matches path and
        method wins over any that matches the path only, and no two routes here match the
        same path and method. `declared` keeps the order they were written in, for the docs.
        """
        first = [
            route
            for endpoint in endpoints
            for route in self.routes
            if getattr(route, "endpoint", None) is endpoint
        ]
        assert len(first) == len(endpoints), "an endpoint without a route in this router"
        if self._declared is None:
            self._declared = list(self.routes)
        self.routes[:] = first + [route for route in self.routes if route not in first]

    @property
    def declared(self) -> list[BaseRoute]:
        """The routes in the order they were written in."""
        return list(self.routes) if self._declared is None else list(self._declared)
