"""A service another depends on stops or hangs mid-flow: its callers answer 503 with Retry-After in time and
write nothing; after a restart the same request (same Idempotency-Key) succeeds, once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date

import httpx

from minka_gateway.stack import Stack


def timeout_seconds(stack: Stack) -> float:
    return float(stack.environment["MINKA_HTTP_TIMEOUT_SECONDS"])


def unavailable(response: httpx.Response) -> dict:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    return response.json()


@asynccontextmanager
async def stopped(stack: Stack, *services: str) -> AsyncIterator[None]:
    stack.stop_services(services)
    try:
        yield
    finally:
        stack.start_services(services)


@asynccontextmanager
async def hanging(stack: Stack, services: Sequence[str]) -> AsyncIterator[None]:
    """The services' processes are paused: connections are accepted and never answered."""
    pids = [pid for name, pid in stack.running_pids().items() if name.rsplit("-", 1)[0] in services]
    for pid in pids:
        os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.killpg(pid, signal.SIGCONT)


async def lot_ids(traceability: httpx.AsyncClient, headers: dict) -> set[str]:
    response = await traceability.get("/v1/lots", headers=headers, params={"limit": 500})
    assert response.status_code == 200, response.text
    return {lot["id"] for lot in response.json()["items"]}


async def test_certification_down_then_back(stack: Stack, make_group, flows, custody, traceability, certification):
    group = await make_group("Cooperativa sin certificación", members=2, near_forest_members=0)
    await flows.certify(group)
    first = await custody.create(group.manager, group.far_sites[0], "1", "kg")
    body = {"site_id": group.far_sites[0]["id"], "commodity": "gold", "form": "ore",
            "mass": {"value": "2", "unit": "kg"}, "produced_on": date.today().isoformat()}
    request_headers = group.manager | {"Idempotency-Key": "lot-while-certification-is-down"}

    async with stopped(stack, "certification"):
        started = time.monotonic()
        problem = unavailable(await traceability.post("/v1/lots", json=body, headers=request_headers))
        assert time.monotonic() - started < timeout_seconds(stack)
        assert "certification" in problem["detail"]
        unavailable(await certification.get("/v1/status", params={"cooperative_id": group.cooperative["id"]}))
        assert await lot_ids(traceability, group.manager) == {first["id"]}  # nothing written
        assert (await traceability.get(f"/v1/lots/{first['id']}", headers=group.manager)).status_code == 200

    created = await traceability.post("/v1/lots", json=body, headers=request_headers)
    assert created.status_code == 201, created.text
    replayed = await traceability.post("/v1/lots", json=body, headers=request_headers)
    assert replayed.status_code == 201 and replayed.json()["id"] == created.json()["id"]
    assert await lot_ids(traceability, group.manager) == {first["id"], created.json()["id"]}
    assert created.json()["claims"]["certified"] is True


async def test_a_hanging_dependency_times_out_into_a_503(stack: Stack, make_group, custody, traceability):
    group = await make_group("Cooperativa paciente", members=1, near_forest_members=0)
    before = await lot_ids(traceability, group.manager)
    body = {"site_id": group.far_sites[0]["id"], "commodity": "gold", "form": "ore",
            "mass": {"value": "1", "unit": "kg"}, "produced_on": "2026-01-05"}

    async with hanging(stack, ["certification"]):
        started = time.monotonic()
        problem = unavailable(await traceability.post("/v1/lots", json=body, headers=group.manager))
        elapsed = time.monotonic() - started
        assert timeout_seconds(stack) <= elapsed < timeout_seconds(stack) * 2, elapsed
        assert "did not answer in time" in problem["detail"]
    assert await lot_ids(traceability, group.manager) == before
    assert (await traceability.post("/v1/lots", json=body, headers=group.manager)).status_code == 201


async def test_registry_down_stops_writes_that_need_it_but_not_reads(stack: Stack, make_group, actors, certification):
    group = await make_group("Cooperativa del registro", members=1, near_forest_members=0)
    opened = await certification.post("/v1/certifications", json=group.certification_body(), headers=group.certifier)
    assert opened.status_code == 201, opened.text
    other = await actors.cooperative_manager("Cooperativa esperando")
    request = {**group.certification_body(), "cooperative_id": other[0]["id"]}

    async with stopped(stack, "registry"):
        unavailable(await certification.post("/v1/certifications", json=request, headers=group.certifier))
        # Tokens already issued still verify: certification keeps the registry's keys it has fetched.
        listed = await certification.get("/v1/certifications", headers=group.certifier)
        assert listed.status_code == 200 and [c["id"] for c in listed.json()["items"]] == [opened.json()["id"]]

    reopened = await certification.post("/v1/certifications", json=request, headers=group.certifier)
    assert reopened.status_code == 201, reopened.text
