"""Health, readiness and Prometheus metrics for every service."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from minka_common.errors import ServiceUnavailable

REQUESTS = Counter(
    "minka_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "minka_http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"]
)


class MetricsMiddleware:
    """Counts requests and measures latency by route template (never by raw path, to bound cardinality)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            REQUESTS.labels(self.service, method, route, str(status)).inc()
            LATENCY.labels(self.service, method, route).observe(time.perf_counter() - started)


health_router = APIRouter(tags=["operations"])


@health_router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health_router.get("/readyz", summary="The service can reach its database")
async def readyz(request: Request) -> dict[str, str]:
    try:
        await request.app.state.database.ping()
    except Exception as exc:  # any driver error means "not ready"
        raise ServiceUnavailable(f"database unreachable: {type(exc).__name__}") from exc
    return {"status": "ready"}


@health_router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
