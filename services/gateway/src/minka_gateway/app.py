"""The all-in-one process of the embedded default: every service mounted under its prefix, no proxy hop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from minka_registry.app import create_app as create_registry_app
from minka_registry.settings import RegistrySettings


def create_app() -> FastAPI:
    services: dict[str, FastAPI] = {"registry": create_registry_app(RegistrySettings())}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Starlette does not run a mounted application's lifespan; the gateway runs each one.
        async with AsyncExitStack() as stack:
            for service in services.values():
                await stack.enter_async_context(service.router.lifespan_context(service))
            yield

    gateway = FastAPI(title="Minka gateway", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    for prefix, service in services.items():
        gateway.mount(f"/{prefix}", service)

    @gateway.get("/", include_in_schema=False)
    async def index() -> dict[str, object]:
        return {
            "name": "Minka",
            "services": {prefix: {"docs": f"/{prefix}/docs", "openapi": f"/{prefix}/openapi.json"} for prefix in services},
        }

    @gateway.get("/docs", include_in_schema=False)
    async def docs() -> RedirectResponse:
        return RedirectResponse("/registry/docs")

    return gateway
