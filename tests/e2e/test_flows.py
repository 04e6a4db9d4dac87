"""The main user flows of the three services, through nginx only, with each service in its own processes."""

from __future__ import annotations

import asyncio

import httpx

from minka_gateway.stack import SERVICES, Stack


async def test_each_service_is_served_under_its_prefix_with_links_and_docs(gateway: httpx.AsyncClient):
    for service in SERVICES:
        docs = await gateway.get(f"/{service}/docs")
        assert docs.status_code == 200 and f"/{service}/openapi.json" in docs.text
        spec = (await gateway.get(f"/{service}/openapi.json")).json()
        assert spec["servers"] == [{"url": f"/{service}"}]
        assert (await gateway.get(f"/{service}/readyz")).json() == {"status": "ready"}
        assert "minka_http_requests_total" in (await gateway.get(f"/{service}/metrics")).text


async def test_the_gateway_sets_a_request_id_and_keeps_the_callers(gateway: httpx.AsyncClient):
    made = await gateway.get("/registry/healthz")
    assert len(made.headers["x-request-id"]) == 32
    kept = await gateway.get("/registry/healthz", headers={"X-Request-Id": "trace-me-42"})
    assert kept.headers["x-request-id"] == "trace-me-42"


async def test_unknown_paths_and_oversized_bodies_are_problems(gateway: httpx.AsyncClient, admin_headers):
    missing = await gateway.get("/nowhere")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    too_large = await gateway.post("/registry/v1/forest-layers", content=b"x" * (2 * 1024 * 1024),
                                   headers=admin_headers | {"Content-Type": "application/json"})
    assert too_large.status_code == 413
    assert too_large.json()["status"] == 413 and too_large.headers["content-type"] == "application/problem+json"


async def test_json_is_compressed_for_clients_that_accept_it(gateway: httpx.AsyncClient):
    spec = await gateway.get("/traceability/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert spec.headers["content-encoding"] == "gzip" and spec.json()["paths"]


async def test_the_thin_client_is_served_under_app(gateway: httpx.AsyncClient):
    page = await gateway.get("/app/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert (await gateway.get("/", follow_redirects=False)).headers["location"].endswith("/app/")


async def test_a_cooperative_registers_members_and_sites(gateway: httpx.AsyncClient, actors, admin_headers, ok):
    cooperative, manager = await actors.cooperative_manager("Cooperativa Multiproceso")
    member = ok(await gateway.post("/registry/v1/miners", headers=manager | {"Idempotency-Key": "e2e-member-1"}, json={
        "full_name": "Juana Quispe", "gender": "female", "birth_date": "1990-04-12",
        "cooperative_id": cooperative["id"]}), 201)
    replay = await gateway.post("/registry/v1/miners", headers=manager | {"Idempotency-Key": "e2e-member-1"}, json={
        "full_name": "Juana Quispe", "gender": "female", "birth_date": "1990-04-12",
        "cooperative_id": cooperative["id"]})
    assert replay.status_code == 201 and replay.json()["id"] == member["id"]

    csv = "full_name,gender,birth_date\nAna Mamani,female,1985-02-01\nNiño,male,2016-01-01\n"
    bad = await gateway.post(f"/registry/v1/miners/import?cooperative_id={cooperative['id']}", content=csv,
                             headers=manager | {"Content-Type": "text/csv"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    members = ok(await gateway.get(f"/registry/v1/cooperatives/{cooperative['id']}/members", headers=manager))
    assert [m["full_name"] for m in members["items"]] == ["Juana Quispe"]  # the import wrote nothing

    site = ok(await gateway.post("/registry/v1/sites", headers=manager, json={
        "cooperative_id": cooperative["id"], "name": "Quebrada", "geometry": {"type": "Point",
                                                                              "coordinates": [-70.5, -13.0]},
        "minerals": ["gold"], "method": "alluvial"}), 201)
    other, other_manager = await actors.cooperative_manager("Another cooperative")
    assert (await gateway.get(f"/registry/v1/sites/{site['id']}", headers=other_manager)).status_code == 404


async def test_a_certified_lot_goes_from_cooperative_to_refiner(make_group, flows, make_party, custody, traceability,
                                                                certification, ok):
    group = await make_group("Oro Multiproceso", members=4, near_forest_members=1)
    certified = await flows.certify(group)
    status = await flows.status(cooperative_id=group.cooperative["id"])
    assert status["covered"] is True and status["tier"] == "good"

    trader = await make_party("trader", "Trader behind nginx")
    refiner = await make_party("refiner", "Refiner behind nginx")
    lot = await custody.create(group.manager, group.far_sites[0], "1.5", "kg", mercury_free=True)
    assert lot["claims"]["certified"] and lot["origin"]["certificate_number"] == \
        certified.certification["certificate_number"]
    held = await custody.hand_over(group.manager, lot, trader)
    parts = (await custody.split(trader.headers, held, [{"value": "1", "unit": "kg"},
                                                        {"value": "0.5", "unit": "kg"}]))["lots"]
    sold = await custody.hand_over(trader.headers, parts[0], refiner)

    provenance = await custody.get(refiner.headers, sold, "/provenance")
    assert [origin["lot_id"] for origin in provenance["origins"]] == [lot["id"]]
    assert provenance["origins"][0]["tier"] == "good"
    assert (await traceability.get(f"/v1/lots/{parts[1]['id']}", headers=refiner.headers)).status_code == 404
    epcis = await traceability.get(f"/v1/lots/{sold['id']}/epcis", headers=refiner.headers)
    assert epcis.status_code == 200 and epcis.headers["content-type"].startswith("application/ld+json")


async def test_the_token_endpoint_is_rate_limited_per_address(stack: Stack, gateway: httpx.AsyncClient):
    """Runs last in this module: it empties the token bucket of this address, then waits for it to refill."""
    attempts = stack.settings.token_burst * 2 + 10
    answers = await asyncio.gather(*[
        gateway.post("/registry/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "wrong"))
        for _ in range(attempts)])
    limited = [answer for answer in answers if answer.status_code == 429]
    assert limited and all(answer.status_code in (401, 429) for answer in answers)
    assert limited[0].headers["content-type"] == "application/problem+json" and "retry-after" in limited[0].headers
    per_second = int(stack.settings.token_rate.split("r/")[0])
    await asyncio.sleep(stack.settings.token_burst / per_second + 1)

