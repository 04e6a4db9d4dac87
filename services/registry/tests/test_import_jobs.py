"""Imports and forest layers as jobs through the API: 202 with a Location, the job's progress and its result or
problem, all or nothing, idempotent by key, readable by its own organisation only."""

from __future__ import annotations

import uuid

from job_support import finished

from minka_common.idempotency import REPLAYED_HEADER

HEADER = "full_name,gender,birth_date,national_id\n"
ASYNC = {"Prefer": "respond-async"}


def csv_of(rows: list[str]) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


async def import_job(registry, cooperative: dict, headers: dict, body: bytes, **extra_headers: str):
    return await registry.post("/v1/miners/import", params={"cooperative_id": cooperative["id"]}, content=body,
                               headers=headers | ASYNC | {"Content-Type": "text/csv"} | extra_headers)


async def members(registry, headers: dict, cooperative: dict) -> list[dict]:
    response = await registry.get(f"/v1/cooperatives/{cooperative['id']}/members", headers=headers,
                                  params={"limit": 500})
    return response.json()["items"]


async def test_an_import_asked_as_a_job_answers_202_and_its_job_ends_with_the_ids(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Job Import")
    accepted = await import_job(registry, cooperative, manager, csv_of(["Ana Quispe,female,1990-04-12,",
                                                                         "Juan Mamani,male,1985-12-01,"]))
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["location"] == f"/v1/jobs/{accepted.json()['id']}"
    assert accepted.json()["status"] == "queued" and accepted.json()["kind"] == "miners.import"
    job = await finished(registry, accepted, manager)
    assert job["status"] == "succeeded" and job["problem"] is None
    assert job["result"]["imported"] == 2 and [m["line"] for m in job["result"]["miners"]] == [2, 3]
    assert {m["id"] for m in await members(registry, manager, cooperative)} == \
        {m["id"] for m in job["result"]["miners"]}


async def test_a_refused_file_ends_the_job_failed_with_every_bad_row_and_imports_nothing(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Job Refused")
    accepted = await import_job(registry, cooperative, manager, csv_of(["Ana Quispe,female,1990-04-12,",
                                                                         ",female,1990-04-12,",
                                                                         "Niño Quispe,male,2020-01-01,"]))
    job = await finished(registry, accepted, manager)
    assert job["status"] == "failed" and job["result"] is None
    assert job["problem"]["status"] == 422
    assert sorted((e["line"], e["field"]) for e in job["problem"]["errors"]) == [(3, "full_name"), (4, "birth_date")]
    assert await members(registry, manager, cooperative) == []


async def test_the_same_key_gives_the_same_job_and_imports_once(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Job Replay")
    body, key = csv_of(["Rosa Condori,female,1992-02-02,"]), f"import-{uuid.uuid4()}"
    first = await import_job(registry, cooperative, manager, body, **{"Idempotency-Key": key})
    job = await finished(registry, first, manager)
    again = await import_job(registry, cooperative, manager, body, **{"Idempotency-Key": key})
    assert again.status_code == 202 and again.headers[REPLAYED_HEADER] == "true"
    assert again.json()["id"] == first.json()["id"] and again.headers["location"] == first.headers["location"]
    assert job["status"] == "succeeded"
    assert len(await members(registry, manager, cooperative)) == 1


async def test_another_organisation_cannot_read_the_job(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop Job Private")
    _, stranger = await actors.cooperative_manager("Coop Job Stranger")
    accepted = await import_job(registry, cooperative, manager, csv_of(["Luz Huamán,female,1991-01-01,"]))
    await finished(registry, accepted, manager)
    assert (await registry.get(accepted.headers["location"], headers=stranger)).status_code == 404
    listed = (await registry.get("/v1/jobs", headers=stranger)).json()["items"]
    assert accepted.json()["id"] not in {job["id"] for job in listed}
    mine = (await registry.get("/v1/jobs", headers=manager, params={"status": "succeeded"})).json()["items"]
    assert accepted.json()["id"] in {job["id"] for job in mine}


async def test_a_forest_layer_asked_as_a_job_recomputes_the_sites_in_its_job(registry, actors, admin_headers):
    cooperative, manager = await actors.cooperative_manager("Coop Job Forest")
    site = (await registry.post("/v1/sites", headers=manager, json={
        "cooperative_id": cooperative["id"], "name": "Job pit", "geometry": {"type": "Point", "coordinates": [
            -170.5, -40.0]}, "minerals": ["gold"], "method": "alluvial"})).json()
    square = [[-170.49, -40.01], [-170.47, -40.01], [-170.47, -39.99], [-170.49, -39.99], [-170.49, -40.01]]
    layer = {"type": "FeatureCollection", "name": "job forest", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [square]}}]}
    accepted = await registry.post("/v1/forest-layers", json=layer, headers=admin_headers | ASYNC)
    job = await finished(registry, accepted, admin_headers)
    assert job["status"] == "succeeded", job
    assert job["result"]["feature_count"] == 1 and job["result"]["sites_recomputed"] >= 1
    distance = (await registry.get(f"/v1/sites/{site['id']}", headers=manager)).json()["forest_distance_km"]
    assert distance is not None and distance < 2
