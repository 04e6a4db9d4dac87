"""The multi-process shape, started once for the e2e suite: each service in its own uvicorn processes
(two replicas each), nginx in front, and every request of the tests through the gateway's port only.

The databases are those of the rest of the suite: PostgreSQL when MINKA_TEST_DATABASE_URL names a
server (as in CI), else SQLite files. The fixtures shared with the in-process suites (``registry``,
``certification``, ``traceability``, ``actors``, ``make_group``, ``flows`` …) are redefined here to
talk to the gateway, so the same helpers drive both shapes.
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from minka_common.testing import fresh_database_url
from minka_gateway.stack import SERVICES, Stack, StackSettings, port_is_free

ADMIN_CLIENT = ("e2e-admin", "e2e-admin-secret-0123456789")
HTTP_TIMEOUT_SECONDS = 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports."""
    for _ in range(100):
        first = random.randrange(20000, 40000)
        if all(port_is_free(first + offset) for offset in range(count)):
            return first
    raise RuntimeError("no free ports")


@pytest.fixture(scope="session")
def free_port():
    """``free_port()``: a port nothing listens on, for a server of the test's own."""
    return lambda: free_ports(1)


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    run_dir = tmp_path_factory.mktemp("stack")
    environment = {
        "MINKA_DATA_DIR": str(run_dir / "data"),
        "MINKA_BOOTSTRAP_CLIENT_ID": ADMIN_CLIENT[0],
        "MINKA_BOOTSTRAP_CLIENT_SECRET": ADMIN_CLIENT[1],
        "MINKA_HTTP_TIMEOUT_SECONDS": str(HTTP_TIMEOUT_SECONDS),
        "MINKA_TRACEABILITY_CLAIM_RECHECK_INTERVAL_SECONDS": "0",
        "MINKA_TRACEABILITY_CERTIFICATION_FEED_INTERVAL_SECONDS": "0.5",
        "MINKA_REGISTRY_WEBHOOK_INTERVAL_SECONDS": "0.2",
        "MINKA_CERTIFICATION_WEBHOOK_INTERVAL_SECONDS": "0.2",
        "MINKA_TRACEABILITY_WEBHOOK_INTERVAL_SECONDS": "0.2",
        "MINKA_TRACEABILITY_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
        # the receiver of test_webhooks.py is a plain-HTTP server on this machine: the one exception it needs
        "MINKA_WEBHOOK_ALLOW_HTTP": "true",
        "MINKA_WEBHOOK_ALLOWED_PRIVATE_TARGETS": "127.0.0.1",
    }
    for service in SERVICES:
        environment[f"MINKA_{service.upper()}_DATABASE_URL"] = await fresh_database_url(f"e2e_{service}", run_dir)
    settings = StackSettings(dir=run_dir, gateway_port=free_ports(1), base_port=free_ports(8), replicas=2,
                             token_rate="10r/s", token_burst=10, max_body_size="1m")
    stack = Stack(settings, {**os.environ, **environment})
    stack.up()
    try:
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="session")
async def gateway(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        yield client


def _service_client(stack: Stack, service: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{stack.gateway_url}/{service}", timeout=30)


@pytest.fixture(scope="session")
async def registry(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with _service_client(stack, "registry") as client:
        yield client


@pytest.fixture(scope="session")
async def certification(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with _service_client(stack, "certification") as client:
        yield client


@pytest.fixture(scope="session")
async def traceability(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with _service_client(stack, "traceability") as client:
        yield client


@pytest.fixture(scope="session")
async def admin_headers(registry: httpx.AsyncClient) -> dict[str, str]:
    response = await registry.post("/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=ADMIN_CLIENT)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
