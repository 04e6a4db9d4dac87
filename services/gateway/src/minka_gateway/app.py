"""The all-in-one process of the embedded default: every service mounted under its prefix, no proxy hop.

Services still talk to each other through their typed HTTP clients, but over httpx's
ASGI transport, and authenticate with a service client whose secret is made fresh at
every start (the registry stores only its hash).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TypeVar

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic_settings import BaseSettings
from starlette.middleware.gzip import GZipMiddleware

from minka_certification.app import create_app as create_certification_app
from minka_certification.settings import CertificationSettings
from minka_common.auth import InProcessKeySet
from minka_registry.app import create_app as create_registry_app
from minka_registry.settings import RegistrySettings
from minka_traceability.app import create_app as create_traceability_app
from minka_traceability.settings import TraceabilitySettings

SettingsT = TypeVar("SettingsT", bound=BaseSettings)

STATIC_ROOT = Path(__file__).resolve().parent / "static"
"""The thin client's files, under ``app/``: served at /app/ here and by nginx in the multi-process shape."""
IN_PROCESS_REGISTRY_URL = "http://registry.in-process"
IN_PROCESS_CERTIFICATION_URL = "http://certification.in-process"
CERTIFICATION_CLIENT_ID = "minka-certification"
TRACEABILITY_CLIENT_ID = "minka-traceability"


def _in_process_client(settings: SettingsT, client_id: str, **urls: str) -> SettingsT:
    return settings.model_copy(update={**urls, "service_client_id": client_id,
                                       "service_client_secret": secrets.token_urlsafe(32)})


def create_services(
    registry_settings: RegistrySettings,
    certification_settings: CertificationSettings,
    traceability_settings: TraceabilitySettings,
) -> dict[str, FastAPI]:
    """The services wired to each other in-process; the registry comes first, as the others depend on it,
    then certification, which traceability asks about producers."""
    certification_settings = _in_process_client(certification_settings, CERTIFICATION_CLIENT_ID,
                                                 registry_url=IN_PROCESS_REGISTRY_URL)
    traceability_settings = _in_process_client(traceability_settings, TRACEABILITY_CLIENT_ID,
                                               registry_url=IN_PROCESS_REGISTRY_URL,
                                               certification_url=IN_PROCESS_CERTIFICATION_URL)
    registry_settings = registry_settings.model_copy(update={"service_clients": {
        **registry_settings.service_clients,
        CERTIFICATION_CLIENT_ID: certification_settings.service_client_secret,
        TRACEABILITY_CLIENT_ID: traceability_settings.service_client_secret,
    }})
    registry = create_registry_app(registry_settings)
    keys = InProcessKeySet(registry.state.signing_keys.public_key_set)
    certification = create_certification_app(certification_settings, registry_app=registry, key_set=keys)
    traceability = create_traceability_app(traceability_settings, registry_app=registry,
                                           certification_app=certification, key_set=keys)
    return {"registry": registry, "certification": certification, "traceability": traceability}


def create_app(
    registry_settings: RegistrySettings | None = None,
    certification_settings: CertificationSettings | None = None,
    traceability_settings: TraceabilitySettings | None = None,
) -> FastAPI:
    services = create_services(registry_settings or RegistrySettings(),
                               certification_settings or CertificationSettings(),
                               traceability_settings or TraceabilitySettings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Starlette does not run a mounted application's lifespan; the gateway runs each one, in order.
        async with AsyncExitStack() as stack:
            for service in services.values():
                await stack.enter_async_context(service.router.lifespan_context(service))
            yield

    gateway = FastAPI(title="Minka gateway", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    gateway.state.services = services
    for prefix, service in services.items():
        gateway.mount(f"/{prefix}", service)
    gateway.mount("/app", StaticFiles(directory=STATIC_ROOT / "app", html=True), name="app")
    gateway.add_middleware(GZipMiddleware, minimum_size=1000)  # phones on slow links, as nginx does

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
