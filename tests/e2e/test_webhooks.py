"""Webhooks across processes: a buyer's endpoint (a real HTTP server here) receives signed events, is
retried after it fails twice, and after de-duplication by webhook-id has every event of its feed exactly
once, in order per subject — including the notice that a cooperative it bought from lost its certificate."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from event_support import events
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

LOT_EVENTS = ["lot.created", "lot.dispatched", "lot.received", "lot.consumed", "lot.origin_certificate_suspended"]


class Receiver:
    """An integrator's endpoint: checks every signature, answers 500 to the first message it gets the first
    ``failures`` times it comes, and keeps each event once by its webhook-id."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.secrets: dict[str, str] = {}  # path → the secret of the webhook registered with that path
        self.requests: list[tuple[str, str]] = []  # (path, webhook-id) of every request, in arrival order
        self.events: dict[str, dict[str, dict]] = defaultdict(dict)  # path → webhook-id → payload
        self.arrival: dict[str, list[str]] = defaultdict(list)  # path → webhook-ids, first arrivals in order
        self.bad_signatures = 0
        self.app = Starlette(routes=[Route("/hooks/{name}", self.receive, methods=["POST"])])

    def requests_for(self, message_id: str) -> list[str]:
        return [path for path, message in self.requests if message == message_id]

    async def receive(self, request: Request) -> Response:
        path = request.url.path
        body = await request.body()
        try:
            payload = Webhook(self.secrets[path]).verify(body, dict(request.headers))
        except (KeyError, WebhookVerificationError):
            self.bad_signatures += 1
            return Response(status_code=401)
        message_id = request.headers["webhook-id"]
        self.requests.append((path, message_id))
        if self.requests[0][1] == message_id and len(self.requests_for(message_id)) <= self.failures:
            return Response(status_code=500)
        if message_id not in self.events[path]:
            self.events[path][message_id] = payload
            self.arrival[path].append(message_id)
        return Response(status_code=204)


@pytest.fixture(scope="module")
def receiver(free_port) -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver(failures=2)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(receiver.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield receiver, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


async def register(client: httpx.AsyncClient, headers: dict, receiver: Receiver, base: str, name: str,
                   event_types: list[str]) -> dict:
    response = await client.post("/v1/webhooks", headers=headers,
                                 json={"url": f"{base}/hooks/{name}", "event_types": event_types})
    assert response.status_code == 201, response.text
    webhook = response.json()
    receiver.secrets[f"/hooks/{name}"] = webhook["secret"]
    return webhook


async def eventually(condition, seconds: float = 60) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the receiver runs in another thread
            await asyncio.sleep(0.2)


async def test_a_buyer_follows_its_lots_and_hears_of_a_suspension(receiver, make_group, flows, make_party, custody,
                                                                  traceability, certification):
    receiver, base = receiver
    group = await make_group("Cooperativa con webhooks", members=2, near_forest_members=0)
    certified = await flows.certify(group)
    buyer = await make_party("buyer", "Buyer with a webhook")
    bystander = await make_party("buyer", "Buyer of nothing")
    hook = await register(traceability, buyer.headers, receiver, base, "buyer", LOT_EVENTS)
    await register(traceability, bystander.headers, receiver, base, "bystander", LOT_EVENTS)
    await register(certification, group.manager, receiver, base, "cooperative", ["certificate.suspended"])

    lots = [await custody.create(group.manager, group.far_sites[0], value, "kg") for value in ("1", "2")]
    held = [await custody.hand_over(group.manager, lot, buyer) for lot in lots]
    parts = (await custody.split(buyer.headers, held[0], [{"value": "0.4", "unit": "kg"},
                                                          {"value": "0.6", "unit": "kg"}]))["lots"]
    await flows.decide(group, certified.path, "suspend", reason="mercury found in tailings")

    await eventually(lambda: sum(e["type"] == "lot.origin_certificate_suspended"
                                 for e in receiver.events["/hooks/buyer"].values()) == 3)
    expected = await events(traceability, buyer.headers, type=LOT_EVENTS)
    await eventually(lambda: len(receiver.events["/hooks/buyer"]) == len(expected))

    delivered = receiver.events["/hooks/buyer"]
    assert set(delivered) == {event["id"] for event in expected}  # every event of its feed, exactly once
    assert receiver.bad_signatures == 0
    alerted = {e["subject"] for e in delivered.values() if e["type"] == "lot.origin_certificate_suspended"}
    assert alerted == {f"lot:{held[1]['id']}", f"lot:{parts[0]['id']}", f"lot:{parts[1]['id']}"}
    assert {"lot.dispatched", "lot.received", "lot.consumed"} <= {e["type"] for e in delivered.values()}
    for subject in {event["subject"] for event in expected}:
        in_feed = [event["id"] for event in expected if event["subject"] == subject]
        assert [i for i in receiver.arrival["/hooks/buyer"] if i in in_feed] == in_feed, subject

    first = receiver.requests[0][1]
    assert len(receiver.requests_for(first)) == 3  # 500, 500, then accepted
    deliveries = (await traceability.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=buyer.headers,
                                         params={"limit": 500})).json()["items"]
    retried = [d for d in deliveries if d["attempts"] == 3]
    assert retried and retried[0]["state"] == "succeeded" and retried[0]["last_status_code"] == 204
    assert all(d["state"] == "succeeded" for d in deliveries)

    await eventually(lambda: len(receiver.events["/hooks/cooperative"]) == 1)
    (suspension,) = receiver.events["/hooks/cooperative"].values()
    assert suspension["type"] == "certificate.suspended"
    assert suspension["data"]["cooperative_id"] == group.cooperative["id"]
    assert receiver.events["/hooks/bystander"] == {}


async def test_only_the_listed_exception_is_reachable(receiver, make_party, traceability):
    """The stack allows 127.0.0.1 for the receiver above; the same server under another name stays refused."""
    _, base = receiver
    buyer = await make_party("buyer", "Buyer probing")
    port = base.rsplit(":", 1)[1]
    for url in (f"http://localhost:{port}/hooks/x", f"http://127.0.0.2:{port}/hooks/x", f"http://2130706434:{port}/",
                "http://169.254.169.254/latest/meta-data/", f"http://[::1]:{port}/hooks/x"):
        response = await traceability.post("/v1/webhooks", headers=buyer.headers,
                                           json={"url": url, "event_types": ["lot.created"]})
        assert response.status_code == 422, url
        assert [error["field"] for error in response.json()["errors"]] == ["url"]
