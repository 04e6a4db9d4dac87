"""The traceability service: lots, custody events, mass balance, claims, provenance, red flags and EPCIS 2.0."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp

from minka_common.app import PeriodicJob, connect_to_registry, create_service_app
from minka_common.auth import KeySetSource
from minka_common.certification_client import CertificationClient
from minka_common.clients import http_client
from minka_common.db import Database
from minka_common.errors import ServiceUnavailable
from minka_common.ids import utcnow
from minka_common.jobs import JobRunner
from minka_common.registry_client import RegistryClient
from minka_traceability import provenance
from minka_traceability.database import event_store, idempotency_keys, job_store
from minka_traceability.epcis import routes as epcis_routes
from minka_traceability.epcis.validation import EpcisValidator, load_validator
from minka_traceability.events import EVENT_TYPES
from minka_traceability.lots import routes as lot_routes
from minka_traceability.origin_alerts import follow_certification_feed
from minka_traceability.red_flags import routes as red_flag_routes
from minka_traceability.red_flags.service import recheck_claims
from minka_traceability.settings import TraceabilitySettings
from minka_traceability.transfers import routes as transfer_routes

MIGRATIONS = Path(__file__).parent / "migrations"
logger = logging.getLogger("minka.traceability")


def create_app(
    settings: TraceabilitySettings | None = None,
    *,
    registry_app: ASGIApp | None = None,
    certification_app: ASGIApp | None = None,
    key_set: KeySetSource | None = None,
) -> FastAPI:
    """``registry_app``, ``certification_app`` and ``key_set`` let the all-in-one process reach the other
    services in-process; otherwise they are called at their URLs and the JWKS is fetched over HTTP."""
    settings = settings or TraceabilitySettings()
    database = Database(settings.resolved_database_url(), settings.database_echo)
    registry = connect_to_registry(settings, settings.registry_url, settings.service_client_id,
                                   settings.service_client_secret, registry_app, key_set)
    certification_http = http_client(settings.certification_url, settings.http_timeout_seconds, app=certification_app)

    async def close_clients(app: FastAPI) -> None:
        await registry.http.aclose()
        await certification_http.aclose()

    app = create_service_app(
        name="traceability",
        title="Minka traceability",
        description="Lots from origin to refinery: custody events, mass balance, claims, provenance, "
        "red flags and EPCIS 2.0.",
        database=database,
        idempotency_table=idempotency_keys,
        token_verifier=registry.verifier,
        routers=[lot_routes.router, transfer_routes.router, provenance.router, red_flag_routes.router,
                 epcis_routes.router],
        migrations=MIGRATIONS if settings.migrate_on_start else None,
        root_path=settings.root_path,
        on_startup=[CLAIM_RECHECK.start, CERTIFICATION_FEED.start],
        on_shutdown=[CLAIM_RECHECK.stop, CERTIFICATION_FEED.stop, close_clients],
        events=event_store,
        event_types=EVENT_TYPES,
        jobs=JobRunner(job_store, {epcis_routes.CAPTURE_JOB: epcis_routes.run_capture_job}),
    )
    app.state.settings = settings
    app.state.clock = utcnow
    app.state.registry = RegistryClient(registry.http, registry.tokens)
    app.state.certification = CertificationClient(certification_http, registry.tokens)
    app.state.epcis_validator = _validator(settings)
    if settings.certification_feed_interval_seconds and not settings.service_client_id:
        logger.warning("no service client configured: certification's event feed is not followed, "
                       "so holders of lots are not alerted when an origin's certificate is suspended")
    return app


def _validator(settings: TraceabilitySettings) -> EpcisValidator | None:
    try:
        return load_validator(settings.epcis_schema_path)
    except OSError:
        logger.warning("no EPCIS schema at %s: EPCIS export and capture answer 503", settings.epcis_schema_path)
        return None


async def _recheck_claims(app: FastAPI) -> None:
    settings: TraceabilitySettings = app.state.settings
    async with app.state.database.transaction() as session:
        raised = await recheck_claims(session, app.state.certification, app.state.clock().date(),
                                      settings.claim_recheck_days)
    if raised:
        logger.warning("claim recheck raised %d red flag(s)", len(raised))


CLAIM_RECHECK = PeriodicJob("claim recheck", lambda app: app.state.settings.claim_recheck_interval_seconds,
                            _recheck_claims)
"""Suspensions recorded late, effective before production, are caught here (and by POST /v1/red-flags/recheck)."""


async def _follow_certification_feed(app: FastAPI) -> None:
    try:
        progress = await follow_certification_feed(app.state.database, app.state.certification,
                                                   app.state.clock().date())
    except ServiceUnavailable as exc:  # expected now and then: no traceback, the next round retries
        logger.warning("certification feed not read (%s); the next round starts from the same cursor", exc.detail)
        return
    if progress.certification_events:
        logger.info("certification feed: %d certificate change(s), %d lot alert(s), %d red flag(s)",
                    progress.certification_events, progress.alerts, progress.red_flags)


def _certification_feed_interval(app: FastAPI) -> float:
    settings: TraceabilitySettings = app.state.settings
    return settings.certification_feed_interval_seconds if settings.service_client_id else 0


CERTIFICATION_FEED = PeriodicJob("certification feed", _certification_feed_interval, _follow_certification_feed)
"""Certificates suspended or withdrawn reach the holders of lots from that origin within one interval."""
