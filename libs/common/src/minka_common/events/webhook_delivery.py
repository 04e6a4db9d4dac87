"""Webhook fan-out and delivery, safe with several replicas running them at once.

Fan-out reads the events after the ``webhooks`` cursor and creates one delivery per matching webhook, advancing
the cursor in the same transaction with a conditional update: a replica that read the same cursor as one that got
there first updates no row, rolls back and creates nothing (the unique (webhook, position) index backs this up).

Delivery sends, for each webhook and subject, only the earliest pending delivery, so a subject's events arrive in
order; a delivery that failed for good no longer holds back the ones after it. Before sending, a replica claims
the delivery with a conditional update that moves ``next_attempt_at`` past the send's deadline (a lease): another
replica finds it not due and leaves it alone, and if the claimer dies the lease runs out and the delivery is sent
again (at least once, never lost).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import ColumnElement, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from minka_common.db import Database
from minka_common.events.tables import EventTables
from minka_common.events.webhook_rules import (
    DeliveryState,
    Outcome,
    RetryPolicy,
    after_attempt,
    may_receive,
    outcome_of_error,
    outcome_of_response,
    payload,
    signed_headers,
)
from minka_common.events.webhook_targets import (
    IPAddress,
    Resolver,
    TargetPolicy,
    TargetRefused,
    delivery_refusal,
    system_resolver,
)
from minka_common.events.webhook_transport import webhook_client
from minka_common.ids import Clock, new_id, utcnow
from minka_common.settings import ServiceSettings, service_settings

FANOUT_CURSOR = "webhooks"
FANOUT_BATCH = 500
DUE_BATCH = 100
MAX_DELIVERY_PASSES = 50
LEASE_MARGIN = timedelta(seconds=30)
USER_AGENT = "Minka-Webhooks/1.0"

logger = logging.getLogger("minka.webhooks")


@dataclass(frozen=True)
class FanOutBatch:
    events: int
    deliveries: int
    lost: bool = False


@dataclass(frozen=True)
class WebhookRound:
    deliveries_created: int
    attempts: int


async def fan_out_batch(database: Database, tables: EventTables, now: datetime,
                        batch_size: int = FANOUT_BATCH) -> FanOutBatch:
    """Creates the deliveries of the next batch of events and moves the cursor past them, in one transaction."""
    events, cursors, deliveries = tables.events, tables.cursors, tables.deliveries
    async with database.engine.connect() as connection:
        start = (await connection.execute(select(cursors.c.position).where(cursors.c.name == FANOUT_CURSOR))).scalar()
        after = start or 0
        batch = (await connection.execute(
            select(events.c.position, events.c.type, events.c.subject)
            .where(events.c.position > after).order_by(events.c.position).limit(batch_size)
        )).all()
        if not batch:
            return FanOutBatch(0, 0)
        last = batch[-1].position
        audience: dict[int, set[str]] = defaultdict(set)
        for position, organization_id in await connection.execute(
            select(tables.audience.c.position, tables.audience.c.organization_id)
            .where(tables.audience.c.position > after, tables.audience.c.position <= last)
        ):
            audience[position].add(organization_id)
        # read after the events: a webhook committed before an event it should get is then always seen here
        webhooks = (await connection.execute(
            select(tables.webhooks).where(tables.webhooks.c.disabled_at.is_(None))
        )).all()
        rows = [
            {"id": str(new_id()), "webhook_id": webhook.id, "position": event.position, "subject": event.subject,
             "state": DeliveryState.pending, "attempts": 0, "next_attempt_at": now, "created_at": now}
            for event in batch
            for webhook in webhooks
            if may_receive(webhook=webhook, event_type=event.type, position=event.position,
                           audience=audience[event.position])
        ]
        try:
            if start is None:
                await connection.execute(insert(cursors).values(name=FANOUT_CURSOR, position=last, updated_at=now))
            else:
                advanced = await connection.execute(
                    update(cursors).where(cursors.c.name == FANOUT_CURSOR, cursors.c.position == start)
                    .values(position=last, updated_at=now)
                )
                if advanced.rowcount != 1:
                    await connection.rollback()
                    return FanOutBatch(len(batch), 0, lost=True)
            if rows:
                await connection.execute(insert(deliveries), rows)
            await connection.commit()
        except IntegrityError:  # another replica created the cursor or these deliveries first
            await connection.rollback()
            return FanOutBatch(len(batch), 0, lost=True)
    return FanOutBatch(len(batch), len(rows))


async def fan_out(database: Database, tables: EventTables, clock: Clock = utcnow) -> int:
    """Fans out every event not yet fanned out; returns the number of deliveries this replica created."""
    created = 0
    while True:
        batch = await fan_out_batch(database, tables, clock())
        created += batch.deliveries
        if batch.lost or batch.events < FANOUT_BATCH:
            return created


def _first_pending_of_its_subject(tables: EventTables) -> ColumnElement[bool]:
    """No earlier delivery of the same webhook and subject is still pending (one that failed for good is not)."""
    deliveries = tables.deliveries
    earlier = deliveries.alias("earlier")
    return ~exists().where(
        earlier.c.webhook_id == deliveries.c.webhook_id,
        earlier.c.subject == deliveries.c.subject,
        earlier.c.state == DeliveryState.pending,
        earlier.c.position < deliveries.c.position,
    )


async def due_deliveries(database: Database, tables: EventTables, now: datetime, limit: int = DUE_BATCH) -> list[Any]:
    """Pending deliveries whose time has come, each the first pending one of its subject, with what sending needs."""
    deliveries, events, webhooks = tables.deliveries, tables.events, tables.webhooks
    statement = (
        select(deliveries.c.id, deliveries.c.attempts, webhooks.c.url, webhooks.c.secret,
               events.c.id.label("event_id"), events.c.type, events.c.subject, events.c.occurred_at, events.c.data)
        .select_from(deliveries.join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
                     .join(events, events.c.position == deliveries.c.position))
        .where(deliveries.c.state == DeliveryState.pending, deliveries.c.next_attempt_at <= now,
               webhooks.c.disabled_at.is_(None), _first_pending_of_its_subject(tables))
        .order_by(deliveries.c.position)
        .limit(limit)
    )
    async with database.engine.connect() as connection:
        return list((await connection.execute(statement)).all())


async def claim(database: Database, tables: EventTables, delivery: Any, now: datetime, lease: timedelta) -> bool:
    """Takes a due delivery for one send: true for exactly one of several replicas trying at once."""
    deliveries = tables.deliveries
    async with database.engine.begin() as connection:
        claimed = await connection.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery.id, deliveries.c.state == DeliveryState.pending,
                   deliveries.c.attempts == delivery.attempts, deliveries.c.next_attempt_at <= now,
                   _first_pending_of_its_subject(tables))
            .values(next_attempt_at=now + lease, last_attempt_at=now)
        )
        return claimed.rowcount == 1


async def send(http: httpx.AsyncClient, delivery: Any, timeout_seconds: float, policy: TargetPolicy) -> Outcome:
    """One attempt. The target is checked under the current policy first; the client then checks the addresses
    it connects to (webhook_transport)."""
    body = payload(delivery)
    headers = signed_headers(delivery.secret, delivery.event_id, body, utcnow()) | {"user-agent": USER_AGENT}
    try:
        refusal = delivery_refusal(delivery.url, policy)
        if refusal is not None:
            raise refusal
        async with asyncio.timeout(timeout_seconds):
            async with http.stream("POST", delivery.url, content=body.encode(), headers=headers) as response:
                return outcome_of_response(response.status_code)
    except TargetRefused as refused:
        logger.warning("webhook delivery %s not sent: %s", delivery.id, refused)
        return outcome_of_error(refused)
    except Exception as error:  # any failure to get an answer is a failed attempt, retried later
        logger.info("webhook delivery %s to %s got no answer: %r", delivery.id, delivery.url, error)
        return outcome_of_error(error)


async def record_outcome(database: Database, tables: EventTables, delivery: Any, outcome: Outcome, now: datetime,
                         policy: RetryPolicy) -> None:
    deliveries = tables.deliveries
    async with database.engine.begin() as connection:
        await connection.execute(
            update(deliveries)  # unless another replica took over after the lease ran out and recorded first
            .where(deliveries.c.id == delivery.id, deliveries.c.state == DeliveryState.pending,
                   deliveries.c.attempts == delivery.attempts)
            .values(**after_attempt(delivery.attempts, outcome, now, policy))
        )


@dataclass(frozen=True)
class Deliverer:
    """Everything a replica needs to send due deliveries."""

    database: Database
    tables: EventTables
    http: httpx.AsyncClient
    clock: Clock
    settings: ServiceSettings

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy(self.settings.webhook_max_attempts, self.settings.webhook_retry_base_seconds,
                           self.settings.webhook_retry_max_seconds)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.webhook_timeout_seconds) + LEASE_MARGIN

    async def attempt(self, delivery: Any) -> bool:
        if not await claim(self.database, self.tables, delivery, self.clock(), self.lease):
            return False
        outcome = await send(self.http, delivery, self.settings.webhook_timeout_seconds, target_policy(self.settings))
        await record_outcome(self.database, self.tables, delivery, outcome, self.clock(), self.policy)
        return True

    async def deliver_due(self) -> int:
        """Sends what is due, different subjects concurrently (bounded), until nothing is due; returns the
        number of attempts made. After a success the next event of that subject goes in the following pass."""
        limit = asyncio.Semaphore(self.settings.webhook_concurrency)

        async def attempt_within_limit(delivery: Any) -> bool:
            async with limit:
                return await self.attempt(delivery)

        attempts = 0
        for _ in range(MAX_DELIVERY_PASSES):
            due = await due_deliveries(self.database, self.tables, self.clock())
            made = sum(await asyncio.gather(*(attempt_within_limit(delivery) for delivery in due)))
            attempts += made
            if made == 0:
                break
        return attempts


def target_policy(settings: ServiceSettings) -> TargetPolicy:
    return TargetPolicy.of(allow_http=settings.webhook_allow_http,
                           exceptions=settings.webhook_allowed_private_targets)


def webhook_resolver(app: FastAPI) -> Resolver:
    """How an app resolves webhook hosts: the system resolver, unless a test put a stub DNS in
    ``app.state.webhook_resolver``."""
    return getattr(app.state, "webhook_resolver", system_resolver)


def _round_lock(app: FastAPI) -> asyncio.Lock:
    lock = getattr(app.state, "webhook_round_lock", None)
    if lock is None:
        lock = app.state.webhook_round_lock = asyncio.Lock()
    return lock


async def run_webhook_round(app: FastAPI) -> WebhookRound:
    """One fan-out and delivery round of a service app: what the background job runs, and what tests call.
    Rounds of one process take turns; replicas coordinate through the database."""
    clock: Clock = getattr(app.state, "clock", utcnow)
    tables: EventTables = app.state.event_store
    async with _round_lock(app):
        created = await fan_out(app.state.database, tables, clock)
        deliverer = Deliverer(app.state.database, tables, app.state.webhook_http, clock, service_settings(app))
        attempts = await deliverer.deliver_due()
    return WebhookRound(created, attempts)


async def open_webhook_http(app: FastAPI) -> None:
    """The client deliveries are sent with (``app.state.webhook_http``; tests may swap in an ASGI transport).
    It resolves through ``webhook_resolver(app)`` at each connection, so a test may change the app's DNS."""
    settings = service_settings(app)

    async def resolve(host: str, port: int) -> Sequence[IPAddress]:
        return await webhook_resolver(app)(host, port)

    app.state.webhook_http = webhook_client(target_policy(settings), resolve, settings.webhook_timeout_seconds)


async def close_webhook_http(app: FastAPI) -> None:
    http: httpx.AsyncClient | None = getattr(app.state, "webhook_http", None)
    if http is not None:
        await http.aclose()
