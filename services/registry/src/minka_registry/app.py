"""The registry service: identity provider and register of organisations, miners and sites."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from minka_common.app import create_service_app
from minka_common.auth import InProcessKeySet, Role, TokenVerifier
from minka_common.db import Database
from minka_common.jobs import JobRunner
from minka_registry.database import event_store, idempotency_keys, job_store
from minka_registry.events import EVENT_TYPES
from minka_registry.identity import routes as identity_routes
from minka_registry.identity.keys import SigningKeys
from minka_registry.identity.service import ensure_client
from minka_registry.miners import routes as miner_routes
from minka_registry.organizations import routes as organization_routes
from minka_registry.settings import RegistrySettings
from minka_registry.sites import routes as site_routes

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    database = Database(settings.resolved_database_url(), settings.database_echo)
    keys = SigningKeys.load_or_create(settings.signing_key, settings.resolved_signing_key_file())
    verifier = TokenVerifier(InProcessKeySet(keys.public_key_set), settings.auth_issuer, settings.auth_audience)

    async def configured_clients(app: FastAPI) -> None:
        async with database.session() as session:
            if settings.bootstrap_client_id and settings.bootstrap_client_secret:
                await ensure_client(session, settings.bootstrap_client_id, settings.bootstrap_client_secret,
                                    Role.admin, "bootstrap admin")
            for client_id, secret in settings.service_clients.items():
                await ensure_client(session, client_id, secret, Role.service, f"service {client_id}")

    app = create_service_app(
        name="registry",
        title="Minka registry",
        description="Identity (OAuth 2 tokens, JWKS), organisations, miners and memberships, sites and forest layers.",
        database=database,
        idempotency_table=idempotency_keys,
        token_verifier=verifier,
        routers=[
            identity_routes.public_router,
            identity_routes.router,
            organization_routes.router,
            miner_routes.router,
            site_routes.router,
        ],
        migrations=MIGRATIONS if settings.migrate_on_start else None,
        root_path=settings.root_path,
        on_startup=[configured_clients],
        events=event_store,
        event_types=EVENT_TYPES,
        jobs=JobRunner(job_store, {miner_routes.IMPORT_JOB: miner_routes.run_import_job,
                                   site_routes.LAYER_JOB: site_routes.run_layer_job}),
    )
    app.state.settings = settings
    app.state.signing_keys = keys
    return app
