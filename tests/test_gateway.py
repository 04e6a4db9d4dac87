"""The all-in-one gateway: every service under its prefix, with docs, in one process."""

from collections.abc import AsyncIterator

import httpx
import pytest

from minka_common.testing import fresh_database_url, running


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory, monkeypatch_module) -> AsyncIterator[httpx.AsyncClient]:
    data_dir = tmp_path_factory.mktemp("gateway-data")
    monkeypatch_module.setenv("MINKA_DATA_DIR", str(data_dir))
    monkeypatch_module.setenv("MINKA_REGISTRY_DATABASE_URL", await fresh_database_url("gateway_registry", data_dir))
    monkeypatch_module.setenv(
        "MINKA_CERTIFICATION_DATABASE_URL", await fresh_database_url("gateway_certification", data_dir)
    )
    monkeypatch_module.setenv(
        "MINKA_TRACEABILITY_DATABASE_URL", await fresh_database_url("gateway_traceability", data_dir)
    )
    monkeypatch_module.setenv("MINKA_TRACEABILITY_CLAIM_RECHECK_INTERVAL_SECONDS", "0")
    monkeypatch_module.setenv("MINKA_BOOTSTRAP_CLIENT_ID", "gateway-admin")
    monkeypatch_module.setenv("MINKA_BOOTSTRAP_CLIENT_SECRET", "gateway-admin-secret")
    from minka_gateway.app import create_app

    app = create_app()
    async with running(app):
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


async def test_the_thin_client_is_served_under_app(gateway: httpx.AsyncClient):
    page = await gateway.get("/app/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text


async def test_json_is_compressed_for_clients_that_accept_it(gateway: httpx.AsyncClient):
    spec = await gateway.get("/registry/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert spec.headers["content-encoding"] == "gzip" and spec.json()["paths"]


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


async def admin(gateway: httpx.AsyncClient) -> dict[str, str]:
    token = await gateway.post(
        "/registry/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=("gateway-admin", "gateway-admin-secret")
    )
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def test_registry_flows_end_to_end(gateway: httpx.AsyncClient):
    """The API.md registry flow a cooperative goes through, only through the gateway."""
    headers = await admin(gateway)
    cooperative = (await gateway.post("/registry/v1/organizations", json={"kind": "cooperative", "name": "Cooperativa Minera Esperanza", "country": "PE"}, headers=headers)).json()
    buyer = (await gateway.post("/registry/v1/organizations", json={"kind": "buyer", "name": "Andes Gold Trading", "country": "CH"}, headers=headers)).json()
    user = await gateway.post("/registry/v1/users", json={"email": "rosa@esperanza.example", "password": "minka-esperanza-2026", "role": "coop_manager", "organization_id": cooperative["id"]}, headers=headers)
    assert user.status_code == 201, user.text

    login = await gateway.post("/registry/v1/oauth/token", data={"grant_type": "password", "username": "rosa@esperanza.example", "password": "minka-esperanza-2026"})
    assert login.status_code == 200, login.text
    manager = {"Authorization": f"Bearer {login.json()['access_token']}"}

    miner = await gateway.post("/registry/v1/miners", json={"full_name": "Juana Quispe", "gender": "female", "birth_date": "1990-04-12", "national_id": "PE-40123456", "cooperative_id": cooperative["id"]}, headers=manager | {"Idempotency-Key": "juana-1"})
    assert miner.status_code == 201, miner.text
    assert miner.json()["membership"]["cooperative_id"] == cooperative["id"]
    child = await gateway.post("/registry/v1/miners", json={"full_name": "Too Young", "gender": "male", "birth_date": "2015-01-01", "cooperative_id": cooperative["id"]}, headers=manager)
    assert child.status_code == 422 and child.json()["errors"][0]["field"] == "birth_date"

    csv = "full_name,gender,birth_date,national_id\nAna Mamani,female,1985-02-01,PE-1\nLuis Condori,male,1979-07-30,PE-2\n"
    imported = await gateway.post(f"/registry/v1/miners/import?cooperative_id={cooperative['id']}", content=csv, headers=manager | {"Content-Type": "text/csv"})
    assert imported.status_code == 201, imported.text
    members = (await gateway.get(f"/registry/v1/cooperatives/{cooperative['id']}/members", headers=manager)).json()
    assert {m["full_name"] for m in members["items"]} == {"Juana Quispe", "Ana Mamani", "Luis Condori"}

    left = await gateway.post(f"/registry/v1/miners/{miner.json()['id']}/leave", json={"left_on": "2026-12-31"}, headers=manager)
    assert left.status_code == 200, left.text

    site = await gateway.post("/registry/v1/sites", json={"cooperative_id": cooperative["id"], "name": "Quebrada Honda", "geometry": {"type": "Point", "coordinates": [-70.50, -13.00]}, "minerals": ["gold"], "method": "alluvial", "capacity_kg_per_month": "2.5"}, headers=manager)
    assert site.status_code == 201, site.text
    assert site.json()["forest_distance_km"] is None and site.json()["forest_smart_applicable"] is False
    forest = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[-70.47, -13.05], [-70.40, -13.05], [-70.40, -12.95], [-70.47, -12.95], [-70.47, -13.05]]]}}]}
    layer = await gateway.post("/registry/v1/forest-layers", json=forest, headers=headers)
    assert layer.status_code == 201, layer.text
    assert layer.json()["feature_count"] == 1
    recomputed = (await gateway.get(f"/registry/v1/sites/{site.json()['id']}", headers=manager)).json()
    assert 3.0 < float(recomputed["forest_distance_km"]) < 3.5  # 0.03° of longitude at 13°S ≈ 3.25 km
    assert recomputed["forest_smart_applicable"] is True

    buyer_headers = await _client_headers(gateway, headers, "buyer", buyer["id"])
    assert (await gateway.get(f"/registry/v1/sites/{site.json()['id']}", headers=buyer_headers)).status_code == 200
    assert (await gateway.get(f"/registry/v1/miners/{miner.json()['id']}", headers=buyer_headers)).status_code == 403


async def _client_headers(gateway: httpx.AsyncClient, admin_headers: dict, role: str, organization_id: str) -> dict[str, str]:
    client = (await gateway.post("/registry/v1/clients", json={"name": role, "role": role, "organization_id": organization_id}, headers=admin_headers)).json()
    token = await gateway.post("/registry/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=(client["client_id"], client["client_secret"]))
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def test_certification_is_served_with_the_example_standards_loaded(gateway: httpx.AsyncClient):
    docs = await gateway.get("/certification/docs")
    assert docs.status_code == 200 and "/certification/openapi.json" in docs.text
    assert (await gateway.get("/certification/readyz")).json() == {"status": "ready"}
    index = (await gateway.get("/")).json()
    assert set(index["services"]) == {"registry", "certification", "traceability"}
    standards = (await gateway.get("/certification/v1/standards", headers=await admin(gateway))).json()["items"]
    assert {(s["code"], s["version"]) for s in standards} >= {("MINKA-ASM", "1.0"), ("FOREST-SMART", "1.0")}


async def test_certification_asks_the_registry_in_process_with_a_service_token(gateway: httpx.AsyncClient):
    """Opening a certification makes certification call the registry (organisations) with its service client."""
    headers = await admin(gateway)
    cooperative = (await gateway.post("/registry/v1/organizations", json={"kind": "cooperative", "name": "Coop via gateway", "country": "CO"}, headers=headers)).json()
    body = (await gateway.post("/registry/v1/organizations", json={"kind": "certification_body", "name": "Certifier via gateway", "country": "CO"}, headers=headers)).json()
    certifier = await _client_headers(gateway, headers, "certifier", body["id"])
    request = {"cooperative_id": cooperative["id"], "standard": {"code": "MINKA-ASM", "version": "1.0"},
               "bolt_ons": [{"code": "FOREST-SMART", "version": "1.0"}], "certification_body_id": body["id"]}
    opened = await gateway.post("/certification/v1/certifications", json=request, headers=certifier)
    assert opened.status_code == 201, opened.text
    not_a_cooperative = await gateway.post("/certification/v1/certifications", json={**request, "cooperative_id": body["id"]}, headers=certifier)
    assert not_a_cooperative.status_code == 422
    assert [e["field"] for e in not_a_cooperative.json()["errors"]] == ["cooperative_id"]
    audit = await gateway.post(f"/certification/v1/certifications/{opened.json()['id']}/audits", json={"kind": "initial"}, headers=certifier)
    assert audit.status_code == 201, audit.text
    assert audit.json()["population"] == 0

    public = await gateway.get("/certification/v1/status", params={"cooperative_id": cooperative["id"]})
    assert public.status_code == 200
    assert public.json()["covered"] is False and public.json()["certification_status"] == "audit_scheduled"


async def test_a_lot_goes_from_cooperative_to_buyer_through_the_gateway(gateway: httpx.AsyncClient):
    """Creating a lot makes traceability ask the registry (site, cooperative) and certification (status) in-process."""
    docs = await gateway.get("/traceability/docs")
    assert docs.status_code == 200 and "/traceability/openapi.json" in docs.text
    assert (await gateway.get("/traceability/readyz")).json() == {"status": "ready"}
    headers = await admin(gateway)
    cooperative = (await gateway.post("/registry/v1/organizations", json={"kind": "cooperative", "name": "Coop with lots", "country": "BO"}, headers=headers)).json()
    buyer = (await gateway.post("/registry/v1/organizations", json={"kind": "buyer", "name": "Buyer of lots", "country": "CH"}, headers=headers)).json()
    manager = await _client_headers(gateway, headers, "coop_manager", cooperative["id"])
    buyer_headers = await _client_headers(gateway, headers, "buyer", buyer["id"])
    site = (await gateway.post("/registry/v1/sites", json={"cooperative_id": cooperative["id"], "name": "Río Kaka", "geometry": {"type": "Point", "coordinates": [-110.0, 10.0]}, "minerals": ["gold"], "method": "alluvial"}, headers=manager)).json()

    created = await gateway.post("/traceability/v1/lots", json={"site_id": site["id"], "commodity": "gold", "form": "ore", "mass": {"value": "250", "unit": "g"}, "produced_on": "2026-11-01"}, headers=manager | {"Idempotency-Key": "lot-1"})
    assert created.status_code == 201, created.text
    lot = created.json()
    assert lot["mass_kg"] == "0.25" and lot["claims"]["certified"] is False
    assert lot["origin"]["coverage"]["reason"] == "no certification in force on that date"

    transfer = await gateway.post(f"/traceability/v1/lots/{lot['id']}/dispatch", json={"to_organization_id": buyer["id"]}, headers=manager)
    assert transfer.status_code == 201, transfer.text
    received = await gateway.post(f"/traceability/v1/transfers/{transfer.json()['id']}/receive", json={}, headers=buyer_headers)
    assert received.status_code == 200, received.text
    provenance = (await gateway.get(f"/traceability/v1/lots/{lot['id']}/provenance", headers=buyer_headers)).json()
    assert [origin["site_id"] for origin in provenance["origins"]] == [site["id"]]
    epcis = await gateway.get(f"/traceability/v1/lots/{lot['id']}/epcis", headers=buyer_headers)
    assert epcis.status_code == 200 and epcis.headers["content-type"].startswith("application/ld+json")
