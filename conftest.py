"""Fixtures shared by every test suite: a migrated registry on SQLite or PostgreSQL, and API clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from minka_certification.app import create_app as create_certification_app
from minka_certification.settings import CertificationSettings
from minka_common.auth import InProcessKeySet
from minka_common.ids import utcnow
from minka_common.testing import drop_created_databases, fresh_database_url, running
from minka_registry.app import create_app as create_registry_app
from minka_registry.settings import RegistrySettings
from minka_traceability.app import create_app as create_traceability_app
from minka_traceability.settings import TraceabilitySettings

pytest_plugins = ["certification_support", "traceability_support"]

BOOTSTRAP_CLIENT = ("test-admin", "test-admin-secret-0123456789")
CERTIFICATION_CLIENT = ("test-certification", "test-certification-secret-0123456789")
TRACEABILITY_CLIENT = ("test-traceability", "test-traceability-secret-0123456789")


@pytest.fixture(scope="session", autouse=True)
async def drop_test_databases() -> AsyncIterator[None]:
    """The run's PostgreSQL databases are dropped at its end (this fixture is set up first, so torn down last)."""
    yield
    await drop_created_databases()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("minka-data")


@pytest.fixture(scope="session")
async def registry_app(data_dir) -> AsyncIterator[FastAPI]:
    settings = RegistrySettings(
        data_dir=data_dir,
        database_url=await fresh_database_url("registry", data_dir),
        bootstrap_client_id=BOOTSTRAP_CLIENT[0],
        bootstrap_client_secret=BOOTSTRAP_CLIENT[1],
        service_clients=dict([CERTIFICATION_CLIENT, TRACEABILITY_CLIENT]),
        webhook_interval_seconds=0,
    )
    app = create_registry_app(settings)
    async with running(app):
        yield app


@pytest.fixture(scope="session")
async def registry(registry_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=registry_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
        yield client


@pytest.fixture(scope="session")
async def admin_headers(registry: httpx.AsyncClient) -> dict[str, str]:
    response = await registry.post("/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=BOOTSTRAP_CLIENT)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class Actors:
    """Creates organisations and callers of any role through the API, for tests."""

    def __init__(self, registry: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
        self.registry, self.admin_headers = registry, admin_headers

    async def organization(self, kind: str = "cooperative", name: str | None = None, country: str = "PE") -> dict:
        body = {"kind": kind, "name": name or f"{kind} org", "country": country}
        response = await self.registry.post("/v1/organizations", json=body, headers=self.admin_headers)
        assert response.status_code == 201, response.text
        return response.json()

    async def headers(self, role: str, organization_id: str | None = None) -> dict[str, str]:
        """Bearer headers for a new API client with this role (bound to the organisation, if given)."""
        body = {"name": f"test {role}", "role": role, "organization_id": organization_id}
        created = await self.registry.post("/v1/clients", json=body, headers=self.admin_headers)
        assert created.status_code == 201, created.text
        client = created.json()
        response = await self.registry.post(
            "/v1/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def cooperative_manager(self, name: str = "Cooperativa") -> tuple[dict, dict[str, str]]:
        cooperative = await self.organization("cooperative", name)
        return cooperative, await self.headers("coop_manager", cooperative["id"])


@pytest.fixture(scope="session")
async def actors(registry: httpx.AsyncClient, admin_headers: dict[str, str]) -> Actors:
    return Actors(registry, admin_headers)


@pytest.fixture(scope="session")
async def certification_app(data_dir, registry_app: FastAPI) -> AsyncIterator[FastAPI]:
    """The certification service, calling the registry in-process; its clock is driven by the ``clock`` fixture."""
    settings = CertificationSettings(
        data_dir=data_dir,
        database_url=await fresh_database_url("certification", data_dir),
        registry_url="http://registry.test",
        service_client_id=CERTIFICATION_CLIENT[0],
        service_client_secret=CERTIFICATION_CLIENT[1],
        load_example_standards=False,
        time_rules_interval_seconds=0,
        webhook_interval_seconds=0,
    )
    app = create_certification_app(
        settings, registry_app=registry_app, key_set=InProcessKeySet(registry_app.state.signing_keys.public_key_set)
    )
    async with running(app):
        yield app


@pytest.fixture(scope="session")
async def certification(certification_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=certification_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://certification.test") as client:
        yield client


@pytest.fixture(scope="session")
async def traceability_app(data_dir, registry_app: FastAPI, certification_app: FastAPI) -> AsyncIterator[FastAPI]:
    """The traceability service, calling the registry and certification in-process."""
    settings = TraceabilitySettings(
        data_dir=data_dir,
        database_url=await fresh_database_url("traceability", data_dir),
        registry_url="http://registry.test",
        certification_url="http://certification.test",
        service_client_id=TRACEABILITY_CLIENT[0],
        service_client_secret=TRACEABILITY_CLIENT[1],
        claim_recheck_interval_seconds=0,
        webhook_interval_seconds=0,
        webhook_allowed_private_targets=["receiver.test"],  # tests/test_webhooks.py's in-process receiver
        certification_feed_interval_seconds=0,
    )
    app = create_traceability_app(
        settings, registry_app=registry_app, certification_app=certification_app,
        key_set=InProcessKeySet(registry_app.state.signing_keys.public_key_set),
    )
    async with running(app):
        yield app


@pytest.fixture(scope="session")
async def traceability(traceability_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=traceability_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://traceability.test") as client:
        yield client


class MovableClock:
    """A clock that tests move forward; the certification service reads it instead of the system time."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(request: pytest.FixtureRequest, certification_app: FastAPI) -> Iterator[MovableClock]:
    """Moves the certification service's clock, and traceability's when the test uses that service too."""
    apps = [certification_app]
    if "traceability_app" in request.fixturenames:
        apps.append(request.getfixturevalue("traceability_app"))
    test_clock = MovableClock()
    for app in apps:
        app.state.clock = test_clock
    yield test_clock
    for app in apps:
        app.state.clock = utcnow
