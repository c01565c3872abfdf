"""Prometheus metrics: requests by route template and status, and their durations."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from session_api.api.routing import ResourceRouter

router = ResourceRouter(tags=["ops"])

# Made-up methods share one label, so they cannot blow up the label space either.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """One registry per app, so several apps in one process never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "session_api_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "session_api_request_duration_seconds",
            "Time to answer, by method and route template.",
            ("method", "route"),
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        # The labelled children, looked up once: `labels()` validates and locks on every call.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answer and its duration."""
        counter = self._counted.get((method, route, status))
        if counter is None:
            counter = self._counted[method, route, status] = self.requests.labels(
                method, route, str(status)
            )
        timer = self._timed.get((method, route))
        if timer is None:
            timer = self._timed[method, route] = self.duration.labels(method, route)
        counter.inc()
        timer.observe(seconds)


class MetricsMiddleware:
    """Counts every HTTP answer under its route template (`/v1/sessions/{session_id}`)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            template = _template(scope)
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            self.metrics.observe(method, template, status, time.perf_counter() - started)


def every_route(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes of an app, with those of included routers (FastAPI may nest them)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from every_route(included.routes)
        else:
            yield route


def matching_routes(scope: Scope) -> Iterator[BaseRoute]:
    """The routes whose path matches the request (whatever their methods)."""
    for route in every_route(scope["app"].router.routes):
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            yield route


def _template(scope: Scope) -> str:
    """The route template of a request; answers given before routing (an idempotent replay,
    a refused body) are matched here. Unknown paths share one label."""
    route = scope.get("route") or next(matching_routes(scope), None)
    return getattr(route, "path", None) or "unmatched"


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request) -> Response:
    """Prometheus text format; per process (each `--workers` process counts its own)."""
    registry: CollectorRegistry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
