"""Webhooks on the traceability service: a cooperative's endpoint receives its lots' events, signed, in order;
another tenant's endpoint receives nothing of them. Rounds are called directly.

The session's traceability app and its fan-out cursor are shared with other tests: assertions look only at the
webhooks registered here."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from minka_common.events.webhook_delivery import run_webhook_round

_longitudes = itertools.count()


class Receiver:
    """Integrators' endpoints: each path verifies the signature with its own secret and keeps what it got."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.received: dict[str, list[dict]] = defaultdict(list)
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        message = Webhook(self.secrets[request.url.path]).verify(await request.body(), dict(request.headers))
        self.received[request.url.path].append(message)
        return Response(status_code=200)


@pytest.fixture
async def receiver(traceability_app) -> AsyncIterator[Receiver]:
    receiver = Receiver()
    real_http = traceability_app.state.webhook_http
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app)) as test_http:
        traceability_app.state.webhook_http = test_http
        try:
            yield receiver
        finally:
            traceability_app.state.webhook_http = real_http


async def cooperative_with_site(actors, registry, ok) -> tuple[dict, dict, dict]:
    organization, manager = await actors.cooperative_manager("Cooperativa Webhook")
    point = {"type": "Point", "coordinates": [-120.0 - 0.01 * next(_longitudes), 12.0]}
    site = ok(await registry.post("/v1/sites", headers=manager, json={
        "cooperative_id": organization["id"], "name": "webhook pit", "geometry": point, "minerals": ["gold"],
        "method": "alluvial"}), 201)
    joined = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
    ok(await registry.post("/v1/miners", headers=manager, json={
        "full_name": "webhook miner", "gender": "female", "birth_date": "1990-05-01",
        "cooperative_id": organization["id"], "site_id": site["id"], "joined_on": joined}), 201)
    return organization, manager, site


async def register(traceability, receiver: Receiver, headers: dict, path: str, event_types: list[str]) -> dict:
    response = await traceability.post("/v1/webhooks", headers=headers, json={
        "url": f"https://receiver.test{path}", "event_types": event_types})
    assert response.status_code == 201, response.text
    webhook = response.json()
    receiver.secrets[path] = webhook["secret"]
    return webhook


async def test_a_cooperatives_webhook_gets_its_lots_events_and_another_tenants_gets_none(
    traceability, traceability_app, registry, actors, make_party, custody, receiver, ok, problem
):
    cooperative, manager, site = await cooperative_with_site(actors, registry, ok)
    buyer = await make_party("trader", "Webhook trader")
    stranger = await make_party("trader", "Stranger trader")
    mine = await register(traceability, receiver, manager, "/cooperative", ["lot.created", "lot.dispatched"])
    theirs = await register(traceability, receiver, stranger.headers, "/stranger", ["lot.created", "lot.dispatched"])

    lot = await custody.create(manager, site, "12.5")
    await custody.dispatch(manager, lot, buyer.id)
    await run_webhook_round(traceability_app)

    got = receiver.received["/cooperative"]
    assert [(message["type"], message["subject"]) for message in got] == [
        ("lot.created", f"lot:{lot['id']}"), ("lot.dispatched", f"lot:{lot['id']}")]
    assert got[0]["data"]["lot_id"] == lot["id"]
    assert receiver.received["/stranger"] == []
    deliveries = ok(await traceability.get(f"/v1/webhooks/{mine['id']}/deliveries", headers=manager))["items"]
    assert [(item["event_type"], item["state"], item["attempts"]) for item in deliveries] == [
        ("lot.created", "succeeded", 1), ("lot.dispatched", "succeeded", 1)]
    problem(await traceability.get(f"/v1/webhooks/{mine['id']}", headers=stranger.headers), 404)
    for webhook, headers in ((mine, manager), (theirs, stranger.headers)):
        assert (await traceability.delete(f"/v1/webhooks/{webhook['id']}", headers=headers)).status_code == 204


async def test_only_traceabilitys_event_types_are_accepted(traceability, make_party, problem):
    buyer = await make_party("trader", "Webhook typo trader")
    body = {"url": "https://receiver.test/hook", "event_types": ["lot.created", "member.joined"]}
    refused = problem(await traceability.post("/v1/webhooks", headers=buyer.headers, json=body), 422)
    assert refused["errors"][0]["field"] == "event_types" and "member.joined" in refused["errors"][0]["reason"]


async def test_a_cooperative_cannot_point_a_webhook_inside_minkas_network(traceability, actors, problem):
    """The issue's report: every one of these reached an internal port, and last_error told open from closed."""
    _, manager = await actors.cooperative_manager("Cooperativa curiosa")
    for url in ("http://127.0.0.1:8101/", "https://127.0.0.1:8101/", "https://localhost:5432/", "https://[::1]/",
                "https://2130706433/", "https://0x7f.1/", "https://169.254.169.254/latest/meta-data/",
                "https://10.0.0.1/", "https://[::ffff:127.0.0.1]:8101/"):
        refused = problem(await traceability.post("/v1/webhooks", headers=manager,
                                                  json={"url": url, "event_types": ["lot.created"]}), 422)
        assert [error["field"] for error in refused["errors"]] == ["url"], url
    listed = await traceability.get("/v1/webhooks", headers=manager)
    assert listed.json()["items"] == []
