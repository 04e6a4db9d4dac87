"""The common shape of every service's FastAPI application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI
from sqlalchemy import Table
from starlette.types import ASGIApp, Receive, Scope, Send

from minka_common.auth import KeySetSource, RemoteKeySet, TokenVerifier
from minka_common.clients import ClientCredentialsTokens, http_client
from minka_common.db import Database
from minka_common.errors import Problem, install_problem_handlers
from minka_common.events.feed import events_router
from minka_common.events.tables import EventTables
from minka_common.events.webhook_delivery import (
    close_webhook_http,
    open_webhook_http,
    run_webhook_round,
)
from minka_common.events.webhooks import webhooks_router
from minka_common.idempotency import IdempotencyStore
from minka_common.jobs import JobRunner, jobs_router
from minka_common.migrations import upgrade_to_head_async
from minka_common.observability import MetricsMiddleware, health_router
from minka_common.settings import ServiceSettings, service_settings

StartupHook = Callable[[FastAPI], Awaitable[None]]

PROBLEM_RESPONSES = {
    status: {"model": Problem, "content": {"application/problem+json": {}}}
    for status in (400, 401, 403, 404, 409, 422)
}


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    database: Database,
    idempotency_table: Table,
    token_verifier: TokenVerifier,
    routers: Sequence[APIRouter],
    migrations: Path | None,
    on_startup: Sequence[StartupHook] = (),
    on_shutdown: Sequence[StartupHook] = (),
    root_path: str = "",
    events: EventTables | None = None,
    event_types: Sequence[str] = (),
    jobs: JobRunner | None = None,
) -> FastAPI:
    webhook_startup: list[StartupHook] = []  # filled below when the service has events or jobs
    webhook_shutdown: list[StartupHook] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrations is not None:
            await upgrade_to_head_async(migrations, database.url)
        for hook in [*on_startup, *webhook_startup]:
            await hook(app)
        try:
            yield
        finally:
            for hook in [*webhook_shutdown, *on_shutdown]:
                await hook(app)
            await database.dispose()

    app = FastAPI(title=title, description=description, version="1.0", lifespan=lifespan,
                  responses=PROBLEM_RESPONSES)  # type: ignore[arg-type]
    app.state.service_name = name
    app.state.database = database
    app.state.token_verifier = token_verifier
    app.state.idempotency = IdempotencyStore(database, idempotency_table)
    install_problem_handlers(app)
    app.add_middleware(MetricsMiddleware, service=name)
    if root_path:
        app.add_middleware(RootPathMiddleware, root_path=root_path)
    app.include_router(health_router)
    for router in routers:
        app.include_router(router)
    if events is not None:
        app.state.event_store = events
        app.include_router(events_router(events, event_types))
        app.include_router(webhooks_router(events, event_types))
        rounds = PeriodicJob("webhook deliveries", lambda app: service_settings(app).webhook_interval_seconds,
                             run_webhook_round)
        webhook_startup.extend([open_webhook_http, rounds.start])
        webhook_shutdown.extend([rounds.stop, close_webhook_http])
    if jobs is not None:
        app.state.jobs = jobs
        app.include_router(jobs_router(jobs))
        webhook_startup.append(jobs.start)
        webhook_shutdown.insert(0, jobs.stop)
    return app


class RootPathMiddleware:
    """Serves the app under the prefix a reverse proxy strips (``MINKA_<SERVICE>_ROOT_PATH``), as uvicorn's
    ``--root-path`` does, so links and the OpenAPI docs carry the prefix the caller used."""

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app, self.root_path = app, root_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not scope.get("root_path"):
            path = scope["path"] if scope["path"].startswith(self.root_path + "/") else self.root_path + scope["path"]
            scope = {**scope, "root_path": self.root_path, "path": path}
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class RegistryConnection:
    """How a service that is not the registry reaches it: an HTTP client, its service token, and the
    verifier of its callers' tokens (keys from the registry's JWKS, or in-process)."""

    http: httpx.AsyncClient
    tokens: ClientCredentialsTokens | None
    verifier: TokenVerifier


def connect_to_registry(
    settings: ServiceSettings,
    registry_url: str,
    client_id: str | None,
    client_secret: str | None,
    registry_app: ASGIApp | None = None,
    key_set: KeySetSource | None = None,
) -> RegistryConnection:
    http = http_client(registry_url, settings.http_timeout_seconds, app=registry_app)
    tokens = ClientCredentialsTokens(http, "/v1/oauth/token", client_id, client_secret) if client_id and client_secret \
        else None
    jwks_url = settings.auth_jwks_url or f"{registry_url.rstrip('/')}/.well-known/jwks.json"
    keys = key_set or RemoteKeySet(jwks_url, http)
    return RegistryConnection(http, tokens, TokenVerifier(keys, settings.auth_issuer, settings.auth_audience))


class PeriodicJob:
    """A job run in the background every ``interval(app)`` seconds while the app runs (not at all when 0).
    A failing round is logged and the next one retries; ``start`` and ``stop`` are the app's hooks."""

    def __init__(self, name: str, interval: Callable[[FastAPI], float], job: StartupHook) -> None:
        self.name, self.interval, self.job = name, interval, job
        self._tasks: dict[int, asyncio.Task[None]] = {}

    async def run_forever(self, app: FastAPI) -> None:
        while True:
            await asyncio.sleep(self.interval(app))
            try:
                await self.job(app)
            except Exception:  # a database or dependency hiccup must not end the loop
                logging.getLogger(f"minka.{app.state.service_name}").exception("%s failed", self.name)

    async def start(self, app: FastAPI) -> None:
        if self.interval(app) > 0:
            self._tasks[id(app)] = asyncio.create_task(self.run_forever(app))

    async def stop(self, app: FastAPI) -> None:
        task = self._tasks.pop(id(app), None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
