"""Exactly once across crashes: a lot recorded with an ``Idempotency-Key`` exists once, whatever moment the request
failed at, and a retry with the same key gets the original answer (same lot id).

Crash points (``minka_common.crash_points``) make the request fail as a crash would: before its transaction
commits, and after it committed but before the answer left the process. The third moment, after the answer was
sent, is a plain retry. A request that is still running holds its key: a retry gets 409 with Retry-After, and the
key is free again the moment the request ends. The same tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import httpx
import pytest

from minka_common.crash_points import CrashPoint
from minka_common.idempotency import REPLAYED_HEADER


@pytest.fixture
async def traceability(traceability_app):
    """The traceability API, answering 500 for a simulated crash as a server would (instead of raising it here)."""
    transport = httpx.ASGITransport(app=traceability_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://traceability.test") as client:
        yield client


@pytest.fixture
def crash_at(traceability_app):
    """``crash_at(point)``: the next requests of the traceability app fail there; reset after the test."""
    def crash(point: CrashPoint | None) -> None:
        traceability_app.state.crash_points = {point: "raise"} if point else {}

    yield crash
    traceability_app.state.crash_points = {}


def lot_body(site: dict, value: str = "2.5") -> dict:
    return {"site_id": site["id"], "commodity": "gold", "form": "ore", "mass": {"value": value, "unit": "kg"},
            "produced_on": date.today().isoformat()}


async def lots_of(traceability, headers: dict) -> list[dict]:
    response = await traceability.get("/v1/lots", headers=headers, params={"limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_crash_before_commit_leaves_nothing_and_frees_the_key_at_once(
    traceability, make_producer, crash_at
):
    producer, site = await make_producer("Cooperativa Antes del Commit")
    headers = producer.headers | {"Idempotency-Key": f"lot-{uuid.uuid4()}"}

    crash_at(CrashPoint.before_commit)
    failed = await traceability.post("/v1/lots", json=lot_body(site), headers=headers)
    assert failed.status_code == 500
    assert await lots_of(traceability, producer.headers) == []

    crash_at(None)
    retried = await traceability.post("/v1/lots", json=lot_body(site), headers=headers)
    assert retried.status_code == 201, retried.text
    assert REPLAYED_HEADER.lower() not in retried.headers
    assert [lot["id"] for lot in await lots_of(traceability, producer.headers)] == [retried.json()["id"]]


async def test_a_crash_after_commit_is_answered_by_the_retry_with_the_original_lot(
    traceability, make_producer, crash_at
):
    producer, site = await make_producer("Cooperativa Después del Commit")
    headers = producer.headers | {"Idempotency-Key": f"lot-{uuid.uuid4()}"}

    crash_at(CrashPoint.after_commit)
    lost = await traceability.post("/v1/lots", json=lot_body(site), headers=headers)
    assert lost.status_code == 500  # the answer never reached the caller; the lot is recorded
    [recorded] = await lots_of(traceability, producer.headers)

    crash_at(None)
    retried = await traceability.post("/v1/lots", json=lot_body(site), headers=headers)
    assert retried.status_code == 201, retried.text
    assert retried.headers[REPLAYED_HEADER] == "true"
    assert retried.json() == recorded
    assert len(await lots_of(traceability, producer.headers)) == 1


async def test_a_retry_after_the_answer_gets_the_same_answer(traceability, make_producer):
    producer, site = await make_producer("Cooperativa Respuesta Perdida")
    headers = producer.headers | {"Idempotency-Key": f"lot-{uuid.uuid4()}"}
    first = await traceability.post("/v1/lots", json=lot_body(site), headers=headers)
    retried = await traceability.post("/v1/lots", json=lot_body(site), headers=headers)
    assert first.status_code == retried.status_code == 201
    assert retried.content == first.content
    assert retried.headers["content-type"] == first.headers["content-type"]
    assert len(await lots_of(traceability, producer.headers)) == 1


async def test_a_retry_while_the_request_runs_is_told_to_wait_then_gets_the_original(
    traceability, traceability_app, make_producer
):
    producer, site = await make_producer("Cooperativa En Curso")
    headers = producer.headers | {"Idempotency-Key": f"lot-{uuid.uuid4()}"}
    certification = traceability_app.state.certification
    asking, answer = asyncio.Event(), asyncio.Event()
    status = certification.status

    async def slow_status(*args, **kwargs):
        asking.set()
        await answer.wait()
        return await status(*args, **kwargs)

    certification.status = slow_status
    try:
        first = asyncio.create_task(traceability.post("/v1/lots", json=lot_body(site), headers=headers))
        await asyncio.wait_for(asking.wait(), timeout=120)
        retry = await traceability.post("/v1/lots", json=lot_body(site), headers=headers)
        assert retry.status_code == 409, retry.text
        assert retry.headers["retry-after"] == "1"
        answer.set()
        original = await first
    finally:
        certification.status = status
    assert original.status_code == 201, original.text
    again = await traceability.post("/v1/lots", json=lot_body(site), headers=headers)
    assert again.status_code == 201 and again.json()["id"] == original.json()["id"]
    assert len(await lots_of(traceability, producer.headers)) == 1


async def test_a_refusal_is_remembered_and_changes_nothing(traceability, make_producer):
    producer, site = await make_producer("Cooperativa Rechazo")
    headers = producer.headers | {"Idempotency-Key": f"lot-{uuid.uuid4()}"}
    body = lot_body(site) | {"commodity": "tin"}  # the site declares gold only
    refused = await traceability.post("/v1/lots", json=body, headers=headers)
    again = await traceability.post("/v1/lots", json=body, headers=headers)
    assert refused.status_code == again.status_code == 422
    assert again.headers[REPLAYED_HEADER] == "true" and again.json() == refused.json()
    assert await lots_of(traceability, producer.headers) == []


async def test_each_custody_write_is_applied_once_when_its_answer_is_lost(
    traceability, make_producer, make_party, crash_at, mass
):
    """Split, dispatch and receive: the answer lost after commit, the retry gets it, nothing happens twice."""
    producer, site = await make_producer("Cooperativa Custodia Una Vez")
    trader = await make_party("trader", "Una Vez Trading")
    lot = (await traceability.post("/v1/lots", json=lot_body(site, "10"), headers=producer.headers)).json()

    async def lost_then_retried(path: str, body: dict, headers: dict, status: int) -> dict:
        keyed = headers | {"Idempotency-Key": f"{path}-{uuid.uuid4()}"}
        crash_at(CrashPoint.after_commit)
        assert (await traceability.post(path, json=body, headers=keyed)).status_code == 500
        crash_at(None)
        retried = await traceability.post(path, json=body, headers=keyed)
        assert retried.status_code == status and retried.headers[REPLAYED_HEADER] == "true", retried.text
        return retried.json()

    parts = (await lost_then_retried(f"/v1/lots/{lot['id']}/split", {"parts": [{"mass": mass("6")},
                                                                              {"mass": mass("4")}]},
                                     producer.headers, 201))["lots"]
    transfer = await lost_then_retried(f"/v1/lots/{parts[0]['id']}/dispatch", {"to_organization_id": trader.id},
                                       producer.headers, 201)
    received = await lost_then_retried(f"/v1/transfers/{transfer['id']}/receive", {}, trader.headers, 200)
    assert received["lot"]["custodian_id"] == trader.id
    events = (await traceability.get(f"/v1/lots/{parts[0]['id']}/events", headers=trader.headers)).json()
    assert [event["kind"] for event in events] == ["split", "dispatch", "receive"]
    held = {held_lot["id"] for held_lot in await lots_of(traceability, producer.headers)}
    assert held == {lot["id"], parts[0]["id"], parts[1]["id"]}  # two parts, not four
