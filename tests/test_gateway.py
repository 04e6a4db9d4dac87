"""The all-in-one gateway: every service under its prefix, with docs, in one process."""

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from minka_common.testing import fresh_database_url


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory, monkeypatch_module) -> AsyncIterator[httpx.AsyncClient]:
    data_dir = tmp_path_factory.mktemp("gateway-data")
    monkeypatch_module.setenv("MINKA_DATA_DIR", str(data_dir))
    monkeypatch_module.setenv("MINKA_REGISTRY_DATABASE_URL", await fresh_database_url("gateway_registry", data_dir))
    monkeypatch_module.setenv("MINKA_BOOTSTRAP_CLIENT_ID", "gateway-admin")
    monkeypatch_module.setenv("MINKA_BOOTSTRAP_CLIENT_SECRET", "gateway-admin-secret")
    from minka_gateway.app import create_app

    app = create_app()
    async with LifespanManager(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://minka.test") as client:
            yield client


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


async def test_registry_is_served_under_its_prefix_with_docs(gateway: httpx.AsyncClient):
    docs = await gateway.get("/registry/docs")
    assert docs.status_code == 200
    assert "/registry/openapi.json" in docs.text
    spec = (await gateway.get("/registry/openapi.json")).json()
    assert "/v1/oauth/token" in spec["paths"] and "/v1/organizations" in spec["paths"]
    assert (await gateway.get("/registry/readyz")).json() == {"status": "ready"}


async def test_bootstrap_client_works_through_the_gateway(gateway: httpx.AsyncClient):
    token = await gateway.post(
        "/registry/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=("gateway-admin", "gateway-admin-secret")
    )
    assert token.status_code == 200
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    created = await gateway.post("/registry/v1/organizations", json={"kind": "cooperative", "name": "Via gateway", "country": "BO"}, headers=headers)
    assert created.status_code == 201
    assert (await gateway.get(f"/registry/v1/organizations/{created.json()['id']}", headers=headers)).status_code == 200
    jwks = (await gateway.get("/registry/.well-known/jwks.json")).json()
    assert jwks["keys"]
