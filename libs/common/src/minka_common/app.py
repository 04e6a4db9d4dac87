"""The common shape of every service's FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from sqlalchemy import Table

from minka_common.auth import TokenVerifier
from minka_common.db import Database
from minka_common.errors import Problem, install_problem_handlers
from minka_common.idempotency import IdempotencyStore
from minka_common.migrations import upgrade_to_head_async
from minka_common.observability import MetricsMiddleware, health_router

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
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrations is not None:
            await upgrade_to_head_async(migrations, database.url)
        for hook in on_startup:
            await hook(app)
        try:
            yield
        finally:
            for hook in on_shutdown:
                await hook(app)
            await database.dispose()

    app = FastAPI(title=title, description=description, version="1.0", lifespan=lifespan, root_path=root_path,
                  responses=PROBLEM_RESPONSES)  # type: ignore[arg-type]
    app.state.service_name = name
    app.state.database = database
    app.state.token_verifier = token_verifier
    app.state.idempotency = IdempotencyStore(database, idempotency_table)
    install_problem_handlers(app)
    app.add_middleware(MetricsMiddleware, service=name)
    app.include_router(health_router)
    for router in routers:
        app.include_router(router)
    return app
