"""Webhook targets through the API of a service with the production defaults (https only, no exceptions) and a stub
DNS: refused at registration, and refused again at delivery when the name has moved to an internal address since."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import httpx
import pytest
import trustme
from fastapi import FastAPI
from sqlalchemy import MetaData
from webhook_support import PUBLIC_ADDRESS, Dns, LoopbackNetwork, Recorder, serving, trusting

from minka_common.app import create_service_app
from minka_common.auth import InProcessKeySet, TokenVerifier
from minka_common.db import Database
from minka_common.events import event_tables, record_event
from minka_common.events.webhook_delivery import run_webhook_round, target_policy, webhook_resolver
from minka_common.events.webhook_rules import NO_ANSWER
from minka_common.events.webhook_targets import ADDRESS_NOT_ALLOWED, MUST_BE_HTTPS, NOT_PUBLIC
from minka_common.events.webhook_transport import webhook_client
from minka_common.idempotency import idempotency_table
from minka_common.ids import utcnow
from minka_common.settings import ServiceSettings
from minka_common.testing import fresh_database_url, running

metadata = MetaData()
tables = event_tables(metadata)
idempotency = idempotency_table(metadata)
SETTINGS = ServiceSettings(webhook_interval_seconds=0, webhook_max_attempts=3, webhook_retry_base_seconds=10,
                           webhook_retry_max_seconds=60, webhook_timeout_seconds=60)
HOST = "hooks.example.test"


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def receiver_port(recorder: Recorder, ca: trustme.CA, tmp_path_factory) -> Iterator[int]:
    """The receiver, over TLS for HOST, listening on 127.0.0.1: where an internal target would be."""
    with serving(recorder.app, ca.issue_cert(HOST), tmp_path_factory.mktemp("receiver")) as port:
        yield port


@pytest.fixture(scope="module")
async def app(issuer, tmp_path_factory) -> AsyncIterator[FastAPI]:
    database = Database(await fresh_database_url("webhook_targets", tmp_path_factory.mktemp("webhook-targets")))
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    app = create_service_app(
        name="things", title="things", description="a service with events", database=database,
        idempotency_table=idempotency,
        token_verifier=TokenVerifier(InProcessKeySet(lambda: issuer.key_set), issuer.name, issuer.audience),
        routers=[], migrations=None, events=tables, event_types=["thing.created"],
    )
    app.state.settings = SETTINGS
    app.state.clock = Clock()
    app.state.webhook_resolver = Dns()
    async with running(app):
        yield app


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://things.test") as client:
        yield client


async def register(client: httpx.AsyncClient, headers: dict, url: str) -> httpx.Response:
    return await client.post("/v1/webhooks", headers=headers, json={"url": url, "event_types": ["thing.created"]})


async def delivery_of(client: httpx.AsyncClient, headers: dict, webhook: dict, event_id: str) -> dict:
    response = await client.get(f"/v1/webhooks/{webhook['id']}/deliveries", headers=headers)
    assert response.status_code == 200, response.text
    (delivery,) = [item for item in response.json()["items"] if item["event_id"] == event_id]
    return delivery


async def record(app: FastAPI, organization: str) -> str:
    async with app.state.database.session() as session, session.begin():
        event = record_event(session, tables, "thing.created", f"thing:{uuid.uuid4()}", {}, audience=[organization])
    return str(event.id)


def manager(issuer) -> tuple[str, dict]:
    organization = str(uuid.uuid4())
    return organization, issuer.headers(role="coop_manager", org=organization)


async def test_http_and_internal_targets_are_refused_by_default(app, client, issuer):
    app.state.webhook_resolver.records.update({"public.example": [PUBLIC_ADDRESS], "metadata.example": ["169.254.169.254"]})
    _, headers = manager(issuer)
    expected = {"http://public.example/hook": MUST_BE_HTTPS, "https://127.0.0.1:8101/": NOT_PUBLIC,
                "https://localhost/": NOT_PUBLIC, "https://[::1]/": NOT_PUBLIC, "https://2130706433/": NOT_PUBLIC,
                "https://0x7f.1/": NOT_PUBLIC, "https://169.254.169.254/": NOT_PUBLIC, "https://10.0.0.1/": NOT_PUBLIC,
                "https://metadata.example/": NOT_PUBLIC, "https://missing.example/": "the host name does not resolve"}
    for url, reason in expected.items():
        response = await register(client, headers, url)
        assert response.status_code == 422, url
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"] == [{"field": "url", "reason": reason}], url
    assert (await client.get("/v1/webhooks", headers=headers)).json()["items"] == []
    assert (await register(client, headers, "https://public.example/hook")).status_code == 201


async def test_a_name_moved_to_an_internal_address_after_registration_is_not_connected_to(
    app, client, issuer, recorder, receiver_port
):
    dns = app.state.webhook_resolver
    name = "rebinding.example.test"
    dns.records[name] = [PUBLIC_ADDRESS]
    organization, headers = manager(issuer)
    response = await register(client, headers, f"https://{name}:{receiver_port}/rebound")
    assert response.status_code == 201, response.text
    webhook = response.json()
    dns.records[name] = ["127.0.0.1"]  # where the receiver really listens
    event = await record(app, organization)

    await run_webhook_round(app)  # the client the app opened at start-up
    delivery = await delivery_of(client, headers, webhook, event)
    assert delivery["state"] == "pending" and delivery["attempts"] == 1
    assert delivery["last_error"] == ADDRESS_NOT_ALLOWED and delivery["last_status_code"] is None
    wait = datetime.fromisoformat(delivery["next_attempt_at"]) - datetime.fromisoformat(delivery["last_attempt_at"])
    assert timedelta(seconds=10) <= wait < timedelta(seconds=11)  # a failed attempt, retried with backoff

    for backoff in (10, 20):
        app.state.clock.offset += timedelta(seconds=backoff)
        await run_webhook_round(app)
    delivery = await delivery_of(client, headers, webhook, event)
    assert delivery["state"] == "failed" and delivery["attempts"] == SETTINGS.webhook_max_attempts
    assert delivery["last_error"] == ADDRESS_NOT_ALLOWED and delivery["next_attempt_at"] is None
    assert dns.lookups.count(name) == 1 + SETTINGS.webhook_max_attempts  # registration, then every attempt
    assert "/rebound" not in [received.path for received in recorder.received]


async def test_a_delivery_connects_to_the_address_it_checked(app, client, issuer, recorder, receiver_port, ca):
    dns = app.state.webhook_resolver
    dns.records[HOST] = [PUBLIC_ADDRESS]
    organization, headers = manager(issuer)
    response = await register(client, headers, f"https://{HOST}/pinned")
    assert response.status_code == 201, response.text
    webhook = response.json()
    network = LoopbackNetwork(receiver_port)
    real_http = app.state.webhook_http
    async with webhook_client(target_policy(SETTINGS), webhook_resolver(app), 60, network=network,
                              verify=trusting(ca)) as http:
        app.state.webhook_http = http
        try:
            event = await record(app, organization)
            await run_webhook_round(app)
        finally:
            app.state.webhook_http = real_http
    delivery = await delivery_of(client, headers, webhook, event)
    assert delivery["state"] == "succeeded" and delivery["last_status_code"] == 204
    assert network.connected == [(PUBLIC_ADDRESS, 443)]
    (received,) = [item for item in recorder.received if item.path == "/pinned"]
    assert received.host == HOST and received.webhook_id == event


async def test_a_receiver_that_does_not_answer_is_reported_without_detail(app, client, issuer):
    dns = app.state.webhook_resolver
    dns.records["closed.example.test"] = [PUBLIC_ADDRESS]
    organization, headers = manager(issuer)
    webhook = (await register(client, headers, "https://closed.example.test/hook")).json()
    real_http = app.state.webhook_http
    async with webhook_client(target_policy(SETTINGS), webhook_resolver(app), 60,
                              network=LoopbackNetwork(0, down={PUBLIC_ADDRESS})) as http:
        app.state.webhook_http = http
        try:
            event = await record(app, organization)
            await run_webhook_round(app)
        finally:
            app.state.webhook_http = real_http
    delivery = await delivery_of(client, headers, webhook, event)
    assert delivery["attempts"] == 1 and delivery["last_error"] == NO_ANSWER
    assert delivery["last_status_code"] is None
