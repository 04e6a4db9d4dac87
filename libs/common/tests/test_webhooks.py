"""Webhooks through a small service built with the common factory: registration and its rules through the API,
fan-out and delivery by calling a round directly, with a receiver that verifies Standard Webhooks signatures."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import MetaData, func, select
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from webhook_support import PUBLIC_ADDRESS, Dns

from minka_common.app import create_service_app
from minka_common.auth import InProcessKeySet, TokenVerifier
from minka_common.db import Database
from minka_common.events import event_tables, record_event
from minka_common.events.webhook_delivery import Deliverer, fan_out, run_webhook_round
from minka_common.events.webhook_rules import NO_ANSWER
from minka_common.events.webhook_targets import HTTPS_REQUIRED, NOT_PUBLIC
from minka_common.idempotency import idempotency_table
from minka_common.ids import utcnow
from minka_common.settings import ServiceSettings, service_settings
from minka_common.testing import fresh_database_url, running

EVENT_TYPES = ["thing.created", "thing.changed", "thing.removed"]
metadata = MetaData()
tables = event_tables(metadata)
idempotency = idempotency_table(metadata)
SETTINGS = ServiceSettings(webhook_interval_seconds=0, webhook_max_attempts=4, webhook_retry_base_seconds=10,
                           webhook_retry_max_seconds=25, webhook_timeout_seconds=0.5, webhook_allow_http=True,
                           webhook_allowed_private_targets=["receiver.test", "unreachable.test"])


class MovableClock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class Receiver:
    """An integrator's endpoint: verifies every signature, keeps each event once (by webhook-id), and answers
    500 to the first ``failures[path]`` requests of a path and to every request for a ``poisoned`` event."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.failures: dict[str, int] = defaultdict(int)
        self.poisoned: set[str] = set()
        self.slow: set[str] = set()
        self.requests: dict[str, list[str]] = defaultdict(list)
        self.received: dict[str, list[dict]] = defaultdict(list)
        self.bad_signatures = 0
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        body = (await request.body()).decode()
        if path not in self.secrets:
            return Response(status_code=404)
        try:
            message = Webhook(self.secrets[path]).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.bad_signatures += 1
            return Response(status_code=401)
        assert request.headers["content-type"] == "application/json"
        self.requests[path].append(request.headers["webhook-id"])
        if path in self.slow:
            await asyncio.sleep(2)
        if self.failures[path] > 0 or message["id"] in self.poisoned:
            self.failures[path] -= 1
            return Response("receiver down", status_code=500)
        if message["id"] not in {seen["id"] for seen in self.received[path]}:
            self.received[path].append(message)
        return Response(status_code=204)

    def subjects(self, path: str) -> dict[str, list[str]]:
        """The event ids received on a path, per subject, in the order they arrived."""
        by_subject: dict[str, list[str]] = defaultdict(list)
        for message in self.received[path]:
            by_subject[message["subject"]].append(message["id"])
        return dict(by_subject)


class Routed(httpx.AsyncBaseTransport):
    """The receiver in-process; the host ``unreachable.test`` refuses connections."""

    def __init__(self, receiver: Receiver) -> None:
        self.asgi = httpx.ASGITransport(app=receiver.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "unreachable.test":
            raise httpx.ConnectError("connection refused", request=request)
        return await self.asgi.handle_async_request(request)


@pytest.fixture(scope="module")
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture(scope="module")
async def app(issuer, receiver: Receiver, tmp_path_factory) -> AsyncIterator[FastAPI]:
    database = Database(await fresh_database_url("webhooks_common", tmp_path_factory.mktemp("webhooks")))
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    app = create_service_app(
        name="things", title="things", description="a service with events", database=database,
        idempotency_table=idempotency,
        token_verifier=TokenVerifier(InProcessKeySet(lambda: issuer.key_set), issuer.name, issuer.audience),
        routers=[], migrations=None, events=tables, event_types=EVENT_TYPES,
    )
    app.state.settings = SETTINGS
    app.state.clock = MovableClock()
    app.state.webhook_resolver = Dns({"example.com": [PUBLIC_ADDRESS], "internal.example": ["10.0.0.5"],
                                      "mixed.example": [PUBLIC_ADDRESS, "fd00::5"]})
    async with running(app):
        real_http = app.state.webhook_http
        assert isinstance(real_http, httpx.AsyncClient) and not real_http.is_closed
        async with httpx.AsyncClient(transport=Routed(receiver)) as test_http:
            app.state.webhook_http = test_http
            yield app
        app.state.webhook_http = real_http
    assert real_http.is_closed


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://things.test") as client:
        yield client


def org() -> str:
    return str(uuid.uuid4())


async def record(app: FastAPI, type: str, subject: str, *audience: str) -> str:
    async with app.state.database.session() as session, session.begin():
        event = record_event(session, tables, type, subject, {"subject": subject}, audience=audience)
    return str(event.id)


async def register(client, receiver: Receiver, headers: dict, path: str, event_types=("thing.created",)) -> dict:
    response = await client.post("/v1/webhooks", headers=headers, json={
        "url": f"http://receiver.test{path}", "event_types": list(event_types), "description": path})
    assert response.status_code == 201, response.text
    webhook = response.json()
    receiver.secrets[path] = webhook["secret"]
    return webhook


async def deliveries(client, headers: dict, webhook: dict, **params) -> dict[str, dict]:
    """The webhook's deliveries by event id."""
    response = await client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return {delivery["event_id"]: delivery for delivery in response.json()["items"]}


async def test_registration_shows_the_secret_once(client, issuer, receiver):
    headers = issuer.headers(role="buyer", org=org())
    webhook = await register(client, receiver, headers, "/secret", EVENT_TYPES)
    assert webhook["secret"].startswith("whsec_") and webhook["active"] and webhook["event_types"] == EVENT_TYPES
    assert not webhook["receives_all_organizations"]
    shown = (await client.get(f"/v1/webhooks/{webhook['id']}", headers=headers)).json()
    assert "secret" not in shown and shown["url"] == "http://receiver.test/secret"
    listed = (await client.get("/v1/webhooks", headers=headers)).json()
    assert [item["id"] for item in listed["items"]] == [webhook["id"]] and "secret" not in listed["items"][0]


async def test_a_replayed_registration_returns_the_first_webhook(client, issuer):
    headers = issuer.headers(role="buyer", org=org()) | {"Idempotency-Key": "register-once"}
    body = {"url": "https://example.com/hook", "event_types": ["thing.created"]}
    first = await client.post("/v1/webhooks", headers=headers, json=body)
    second = await client.post("/v1/webhooks", headers=headers, json=body)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://example.com/hook", "event_types": ["thing.created"]}, "url"),
    ({"url": "not a url", "event_types": ["thing.created"]}, "url"),
    ({"url": "https://", "event_types": ["thing.created"]}, "url"),
    ({"url": "https://example.com/" + "a" * 2000, "event_types": ["thing.created"]}, "url"),
    ({"url": "https://example.com/hook", "event_types": []}, "event_types"),
    ({"url": "https://example.com/hook", "event_types": ["thing.created", "lot.created"]}, "event_types"),
    ({"event_types": ["thing.created"]}, "url"),
])
async def test_bad_urls_and_event_types_are_422(client, issuer, body, field):
    response = await client.post("/v1/webhooks", headers=issuer.headers(role="buyer", org=org()), json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_only_callers_bound_to_an_organisation_admins_and_authorities_register(client, issuer):
    body = {"url": "https://example.com/hook", "event_types": ["thing.created"]}
    assert (await client.post("/v1/webhooks", json=body)).status_code == 401
    for role in ("buyer", "service"):
        response = await client.post("/v1/webhooks", headers=issuer.headers(role=role), json=body)
        assert response.status_code == 403, role
    for role in ("admin", "authority"):
        headers = issuer.headers(role=role)
        response = await client.post("/v1/webhooks", headers=headers, json=body)
        assert response.status_code == 201 and response.json()["receives_all_organizations"], role
        assert (await client.delete(f"/v1/webhooks/{response.json()['id']}", headers=headers)).status_code == 204


async def test_another_organisations_webhook_is_404(client, issuer, receiver, app):
    owner, other = issuer.headers(role="coop_manager", org=org()), issuer.headers(role="buyer", org=org())
    webhook = await register(client, receiver, owner, "/private")
    path = f"/v1/webhooks/{webhook['id']}"
    assert (await client.get(path, headers=other)).status_code == 404
    assert (await client.get(f"{path}/deliveries", headers=other)).status_code == 404
    assert (await client.post(f"{path}/deliveries/{uuid.uuid4()}/retry", headers=other)).status_code == 404
    assert (await client.delete(path, headers=other)).status_code == 404
    assert webhook["id"] not in {item["id"] for item in (await client.get("/v1/webhooks", headers=other)).json()["items"]}
    assert (await client.get(path, headers=owner)).json()["active"]
    admin_ids = set()
    page = {"next_cursor": None, "items": []}
    while True:
        params = {"limit": 2} | ({"cursor": page["next_cursor"]} if page["next_cursor"] else {})
        page = (await client.get("/v1/webhooks", headers=issuer.headers(role="admin"), params=params)).json()
        admin_ids |= {item["id"] for item in page["items"]}
        if not page["next_cursor"]:
            break
    assert webhook["id"] in admin_ids
    assert (await client.get(f"/v1/webhooks/{uuid.uuid4()}", headers=owner)).status_code == 404
    assert (await client.get("/v1/webhooks/not-an-id", headers=owner)).status_code == 422


async def test_a_new_webhook_gets_events_from_its_registration_on(client, issuer, receiver, app):
    organization = org()
    before = await record(app, "thing.created", "thing:early", organization)
    headers = issuer.headers(role="buyer", org=organization)
    webhook = await register(client, receiver, headers, "/from-now")
    after = await record(app, "thing.created", "thing:late", organization)
    await run_webhook_round(app)
    assert set(await deliveries(client, headers, webhook)) == {after}
    assert [message["id"] for message in receiver.received["/from-now"]] == [after]
    message = receiver.received["/from-now"][0]
    assert message["type"] == "thing.created" and message["subject"] == "thing:late"
    assert message["data"] == {"subject": "thing:late"} and datetime.fromisoformat(message["timestamp"])
    assert before not in receiver.requests["/from-now"]


async def test_deliveries_are_signed_retried_with_backoff_and_in_order_per_subject(client, issuer, receiver, app):
    organization = org()
    headers = issuer.headers(role="coop_manager", org=organization)
    webhook = await register(client, receiver, headers, "/ordered", ["thing.created", "thing.changed"])
    receiver.failures["/ordered"] = 2
    first = await record(app, "thing.created", "thing:1", organization)
    await run_webhook_round(app)
    failed_once = (await deliveries(client, headers, webhook))[first]
    assert failed_once["state"] == "pending" and failed_once["attempts"] == 1
    assert failed_once["last_status_code"] == 500 and "500" in failed_once["last_error"]
    wait = datetime.fromisoformat(failed_once["next_attempt_at"]) - datetime.fromisoformat(
        failed_once["last_attempt_at"])
    assert timedelta(seconds=10) <= wait < timedelta(seconds=11)

    app.state.clock.advance(10)
    await run_webhook_round(app)
    failed_twice = (await deliveries(client, headers, webhook))[first]
    assert failed_twice["attempts"] == 2 and failed_twice["state"] == "pending"
    wait = datetime.fromisoformat(failed_twice["next_attempt_at"]) - datetime.fromisoformat(
        failed_twice["last_attempt_at"])
    assert timedelta(seconds=20) <= wait < timedelta(seconds=21)

    second = await record(app, "thing.changed", "thing:1", organization)
    other_first = await record(app, "thing.created", "thing:2", organization)
    other_second = await record(app, "thing.changed", "thing:2", organization)
    await record(app, "thing.removed", "thing:2", organization)  # a type the webhook did not ask for
    await record(app, "thing.created", "thing:3", org())  # another tenant's
    await run_webhook_round(app)
    held_back = (await deliveries(client, headers, webhook))[second]
    assert held_back["state"] == "pending" and held_back["attempts"] == 0  # waits behind the first of thing:1
    assert receiver.subjects("/ordered") == {"thing:2": [other_first, other_second]}  # other subjects go on

    app.state.clock.advance(20)
    await run_webhook_round(app)
    assert receiver.subjects("/ordered") == {"thing:1": [first, second], "thing:2": [other_first, other_second]}
    assert receiver.requests["/ordered"].count(first) == 3 and receiver.bad_signatures == 0
    succeeded = await deliveries(client, headers, webhook, state="succeeded")
    assert set(succeeded) == {first, second, other_first, other_second}
    assert succeeded[first]["attempts"] == 3 and succeeded[first]["delivered_at"] is not None
    assert succeeded[first]["next_attempt_at"] is None and succeeded[first]["subject"] == "thing:1"
    assert succeeded[first]["event_type"] == "thing.created"
    assert await deliveries(client, headers, webhook, state="pending") == {}


async def test_a_delivery_that_runs_out_of_attempts_fails_and_no_longer_holds_back_its_subject(
    client, issuer, receiver, app
):
    organization = org()
    headers = issuer.headers(role="buyer", org=organization)
    webhook = await register(client, receiver, headers, "/down")
    doomed = await record(app, "thing.created", "thing:doomed", organization)
    receiver.poisoned.add(doomed)
    follower = await record(app, "thing.created", "thing:doomed", organization)
    await run_webhook_round(app)
    for wait in (10, 20, 25):
        assert (await deliveries(client, headers, webhook))[follower]["attempts"] == 0
        app.state.clock.advance(wait)
        await run_webhook_round(app)
    failed = await deliveries(client, headers, webhook, state="failed")
    assert list(failed) == [doomed]
    assert failed[doomed]["attempts"] == 4 and failed[doomed]["last_status_code"] == 500
    assert failed[doomed]["last_error"] and failed[doomed]["next_attempt_at"] is None
    assert [message["id"] for message in receiver.received["/down"]] == [follower]

    retry_path = f"/v1/webhooks/{webhook['id']}/deliveries/{failed[doomed]['id']}/retry"
    other = issuer.headers(role="buyer", org=org())
    assert (await client.post(retry_path, headers=other)).status_code == 404
    retried = await client.post(retry_path, headers=headers)
    assert retried.status_code == 200 and retried.json()["state"] == "pending" and retried.json()["attempts"] == 0
    assert (await client.post(retry_path, headers=headers)).status_code == 409
    receiver.poisoned.discard(doomed)
    await run_webhook_round(app)
    assert [message["id"] for message in receiver.received["/down"]] == [follower, doomed]
    assert (await deliveries(client, headers, webhook))[doomed]["state"] == "succeeded"
    delivered = (await deliveries(client, headers, webhook))[follower]["id"]
    again = await client.post(f"/v1/webhooks/{webhook['id']}/deliveries/{delivered}/retry", headers=headers)
    assert again.status_code == 409


async def test_timeouts_and_refused_connections_are_failed_attempts(client, issuer, receiver, app):
    organization = org()
    headers = issuer.headers(role="buyer", org=organization)
    slow = await register(client, receiver, headers, "/slow")
    receiver.slow.add("/slow")
    response = await client.post("/v1/webhooks", headers=headers, json={
        "url": "https://unreachable.test/hook", "event_types": ["thing.created"]})
    unreachable = response.json()
    event = await record(app, "thing.created", "thing:far", organization)
    await run_webhook_round(app)
    timed_out = (await deliveries(client, headers, slow))[event]
    refused = (await deliveries(client, headers, unreachable))[event]
    for delivery in (timed_out, refused):
        assert delivery["state"] == "pending" and delivery["attempts"] == 1 and delivery["last_status_code"] is None
        assert delivery["last_error"] == NO_ANSWER  # the same for both: no map of the receiver's open ports
    for webhook in (slow, unreachable):
        assert (await client.delete(f"/v1/webhooks/{webhook['id']}", headers=headers)).status_code == 204


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8101/hook",  # a replica's internal port
    "http://localhost:5432/", "http://[::1]/", "http://2130706433/", "http://0x7f.1/", "http://127.1/",
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/", "http://api.localhost/", "http://0/", "http://internal.example/",
    "http://mixed.example/",  # one internal address among public ones
])
async def test_internal_targets_are_refused_at_registration(client, issuer, url):
    response = await client.post("/v1/webhooks", headers=issuer.headers(role="coop_manager", org=org()),
                                 json={"url": url, "event_types": ["thing.created"]})
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "url", "reason": NOT_PUBLIC}]


async def test_a_host_that_does_not_resolve_is_refused_at_registration(client, issuer):
    response = await client.post("/v1/webhooks", headers=issuer.headers(role="buyer", org=org()),
                                 json={"url": "https://nowhere.example/hook", "event_types": ["thing.created"]})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "url", "reason": "the host name does not resolve"}]


async def test_an_http_webhook_is_not_sent_once_http_is_no_longer_allowed(client, issuer, receiver, app):
    organization = org()
    headers = issuer.headers(role="buyer", org=organization)
    webhook = await register(client, receiver, headers, "/was-http")
    event = await record(app, "thing.created", "thing:was-http", organization)
    await fan_out(app.state.database, tables, app.state.clock)
    https_only = SETTINGS.model_copy(update={"webhook_allow_http": False})
    await Deliverer(app.state.database, tables, app.state.webhook_http, app.state.clock, https_only).deliver_due()
    delivery = (await deliveries(client, headers, webhook))[event]
    assert delivery["attempts"] == 1 and delivery["last_error"] == HTTPS_REQUIRED
    assert delivery["last_status_code"] is None and receiver.requests["/was-http"] == []
    assert (await client.delete(f"/v1/webhooks/{webhook['id']}", headers=headers)).status_code == 204


async def test_a_webhook_of_another_tenant_gets_nothing_and_an_admins_gets_everything(client, issuer, receiver, app):
    mine, theirs = org(), org()
    my_headers, their_headers = issuer.headers(role="buyer", org=mine), issuer.headers(role="buyer", org=theirs)
    admin = issuer.headers(role="admin")
    my_webhook = await register(client, receiver, my_headers, "/mine")
    their_webhook = await register(client, receiver, their_headers, "/theirs")
    admin_webhook = await register(client, receiver, admin, "/everything")
    event = await record(app, "thing.created", "thing:mine", mine)
    unaddressed = await record(app, "thing.created", "thing:nobody")
    await run_webhook_round(app)
    assert [message["id"] for message in receiver.received["/mine"]] == [event]
    assert receiver.received["/theirs"] == [] and await deliveries(client, their_headers, their_webhook) == {}
    assert (await client.delete(f"/v1/webhooks/{admin_webhook['id']}", headers=admin)).status_code == 204
    # two subjects: sent side by side, so they may arrive in either order
    assert sorted(message["id"] for message in receiver.received["/everything"]) == sorted([event, unaddressed])
    assert set(await deliveries(client, my_headers, my_webhook)) == {event}


async def test_a_disabled_webhook_gets_nothing_new(client, issuer, receiver, app):
    organization = org()
    headers = issuer.headers(role="buyer", org=organization)
    webhook = await register(client, receiver, headers, "/disabled")
    sent = await record(app, "thing.created", "thing:before", organization)
    await run_webhook_round(app)
    assert (await client.delete(f"/v1/webhooks/{webhook['id']}", headers=headers)).status_code == 204
    assert (await client.delete(f"/v1/webhooks/{webhook['id']}", headers=headers)).status_code == 204
    shown = (await client.get(f"/v1/webhooks/{webhook['id']}", headers=headers)).json()
    assert not shown["active"] and shown["disabled_at"] is not None
    await record(app, "thing.created", "thing:after", organization)
    await run_webhook_round(app)
    assert set(await deliveries(client, headers, webhook)) == {sent}
    assert [message["id"] for message in receiver.received["/disabled"]] == [sent]


async def delivery_count(app: FastAPI, webhook: dict) -> tuple[int, int]:
    deliveries = tables.deliveries
    async with app.state.database.engine.connect() as connection:
        row = (await connection.execute(
            select(func.count(), func.count(deliveries.c.position.distinct()))
            .where(deliveries.c.webhook_id == webhook["id"])
        )).one()
    return row[0], row[1]


async def test_concurrent_fan_outs_create_each_delivery_once(client, issuer, receiver, app):
    organization = org()
    webhook = await register(client, receiver, issuer.headers(role="buyer", org=organization), "/fan-out")
    clock = app.state.clock
    for round_number in range(3):
        for n in range(40):
            await record(app, "thing.created", f"thing:{round_number}-{n}", organization)
        created = await asyncio.gather(*(fan_out(app.state.database, tables, clock) for _ in range(4)))
        assert sum(created) == 40
        assert await delivery_count(app, webhook) == (40 * (round_number + 1),) * 2


async def test_concurrent_delivery_passes_send_each_delivery_once(client, issuer, receiver, app):
    organization = org()
    await register(client, receiver, issuer.headers(role="buyer", org=organization), "/once")
    events = [await record(app, "thing.created", f"thing:once-{n}", organization) for n in range(25)]
    await fan_out(app.state.database, tables, app.state.clock)
    replicas = [Deliverer(app.state.database, tables, app.state.webhook_http, app.state.clock, service_settings(app))
                for _ in range(3)]
    await asyncio.gather(*(replica.deliver_due() for replica in replicas))
    assert sorted(receiver.requests["/once"]) == sorted(events)
    assert sorted(message["id"] for message in receiver.received["/once"]) == sorted(events)


async def test_the_deliveries_list_pages_and_filters(client, issuer, receiver, app):
    organization = org()
    headers = issuer.headers(role="buyer", org=organization)
    webhook = await register(client, receiver, headers, "/pages")
    events = [await record(app, "thing.created", f"thing:page-{n}", organization) for n in range(5)]
    await run_webhook_round(app)
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=headers, params=params)).json()
        seen += [delivery["event_id"] for delivery in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == events
    assert await deliveries(client, headers, webhook, state="failed") == {}
    bad = await client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=headers, params={"state": "lost"})
    assert bad.status_code == 422

