"""The certification service: standards, certifications, audits, findings, inspections, plans, certificates."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp

from minka_certification.audits import routes as audit_routes
from minka_certification.certifications import routes as certification_routes
from minka_certification.certifications.service import apply_time_rules_to_all
from minka_certification.database import event_store, idempotency_keys
from minka_certification.events import EVENT_TYPES
from minka_certification.findings import routes as finding_routes
from minka_certification.inspections import routes as inspection_routes
from minka_certification.plan import routes as plan_routes
from minka_certification.settings import CertificationSettings
from minka_certification.standards import routes as standard_routes
from minka_certification.standards.service import publish_examples
from minka_certification.status import routes as status_routes
from minka_common.app import PeriodicJob, connect_to_registry, create_service_app
from minka_common.auth import KeySetSource
from minka_common.db import Database
from minka_common.ids import utcnow
from minka_common.registry_client import RegistryClient

MIGRATIONS = Path(__file__).parent / "migrations"
logger = logging.getLogger("minka.certification")


def create_app(
    settings: CertificationSettings | None = None,
    *,
    registry_app: ASGIApp | None = None,
    key_set: KeySetSource | None = None,
) -> FastAPI:
    """``registry_app`` and ``key_set`` let the all-in-one process reach the registry in-process;
    otherwise the registry is called at ``registry_url`` and its JWKS fetched over HTTP."""
    settings = settings or CertificationSettings()
    database = Database(settings.resolved_database_url(), settings.database_echo)
    registry = connect_to_registry(settings, settings.registry_url, settings.service_client_id,
                                   settings.service_client_secret, registry_app, key_set)

    async def load_examples(app: FastAPI) -> None:
        if settings.load_example_standards:
            async with database.session() as session:
                published = await publish_examples(session)
            if published:
                logger.info("published example standards: %s", ", ".join(map(str, published)))

    async def close_clients(app: FastAPI) -> None:
        await registry.http.aclose()

    app = create_service_app(
        name="certification",
        title="Minka certification",
        description="Standards catalogue, certifications with audits, findings and internal inspections, "
        "improvement plans, certificates and the coverage status traceability asks for.",
        database=database,
        idempotency_table=idempotency_keys,
        token_verifier=registry.verifier,
        routers=[
            standard_routes.router,
            certification_routes.router,
            certification_routes.public_router,
            audit_routes.router,
            finding_routes.router,
            inspection_routes.router,
            plan_routes.router,
            status_routes.router,
        ],
        migrations=MIGRATIONS if settings.migrate_on_start else None,
        root_path=settings.root_path,
        on_startup=[load_examples, TIME_RULES.start],
        on_shutdown=[TIME_RULES.stop, close_clients],
        events=event_store,
        event_types=EVENT_TYPES,
    )
    app.state.settings = settings
    app.state.clock = utcnow
    app.state.registry = RegistryClient(registry.http, registry.tokens)
    return app


async def _apply_time_rules_to_all(app: FastAPI) -> None:
    async with app.state.database.session() as session:
        changed = await apply_time_rules_to_all(session, app.state.clock())
    if changed:
        logger.info("time rules changed %d certification(s)", changed)


TIME_RULES = PeriodicJob("applying time rules", lambda app: app.state.settings.time_rules_interval_seconds,
                         _apply_time_rules_to_all)
"""Deadlines, suspensions and expiries are also applied on every read; this catches the ones nobody reads."""
