"""Replicas starting together on an empty database: the configured API clients are created once, and neither
replica fails on the other's insert. The start-ups run at once (``asyncio.gather``), each on its own engine."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

from joserfc.jwk import RSAKey
from sqlmodel import select

from minka_common.auth import Role
from minka_common.db import Database
from minka_common.migrations import upgrade_to_head_async
from minka_common.testing import fresh_database_url, running
from minka_registry.app import MIGRATIONS, create_app
from minka_registry.identity.models import ApiClient
from minka_registry.identity.passwords import verify_secret
from minka_registry.identity.service import ensure_client
from minka_registry.settings import RegistrySettings

BOOTSTRAP = ("startup-admin", "startup-admin-secret-0123456789")
SERVICE_CLIENTS = {"startup-certification": "certification-secret-0123456789",
                   "startup-traceability": "traceability-secret-0123456789"}
REPLICAS = 4  # more than the two a Deployment runs, so that the race is met on every run, not one in two


async def migrated_database_url(name: str, tmp_path) -> str:
    url = await fresh_database_url(name, tmp_path)
    await upgrade_to_head_async(MIGRATIONS, url)
    return url


async def configured_clients(url: str) -> dict[str, ApiClient]:
    database = Database(url)
    try:
        async with database.session() as session:
            rows = (await session.exec(select(ApiClient))).all()
    finally:
        await database.dispose()
    assert Counter(row.client_id for row in rows).most_common(1)[0][1] == 1, "a client was created twice"
    return {row.client_id: row for row in rows}


async def ensure_on_own_engine(url: str, client_id: str, secret: str, role: Role) -> None:
    database = Database(url)
    try:
        async with database.session() as session:
            await ensure_client(session, client_id, secret, role, f"client {client_id}")
    finally:
        await database.dispose()


async def replica_ensuring_clients(url: str, connected: asyncio.Barrier) -> None:
    """What a replica's start-up does: each configured client in turn, on the replica's own engine."""
    database = Database(url)
    try:
        async with database.session() as session:
            await session.connection()
            await connected.wait()  # every replica is connected, so none is done before the others look
            await ensure_client(session, *BOOTSTRAP, Role.admin, "bootstrap admin")
            for client_id, secret in SERVICE_CLIENTS.items():
                await ensure_client(session, client_id, secret, Role.service, f"service {client_id}")
    finally:
        await database.dispose()


async def test_replicas_ensuring_the_configured_clients_at_once_create_each_once(tmp_path):
    url = await migrated_database_url("registry_ensure_race", tmp_path)
    connected = asyncio.Barrier(REPLICAS)
    await asyncio.gather(*(replica_ensuring_clients(url, connected) for _ in range(REPLICAS)))
    clients = await configured_clients(url)
    assert set(clients) == {BOOTSTRAP[0], *SERVICE_CLIENTS}
    assert clients[BOOTSTRAP[0]].role == Role.admin and verify_secret(clients[BOOTSTRAP[0]].secret_hash, BOOTSTRAP[1])
    for client_id, secret in SERVICE_CLIENTS.items():
        assert clients[client_id].role == Role.service and clients[client_id].active
        assert verify_secret(clients[client_id].secret_hash, secret)


async def test_ensuring_an_existing_client_updates_its_secret_and_role(tmp_path):
    url = await migrated_database_url("registry_ensure_update", tmp_path)
    await ensure_on_own_engine(url, "rotated", "first-secret-0123456789", Role.admin)
    await ensure_on_own_engine(url, "rotated", "second-secret-0123456789", Role.service)
    client = (await configured_clients(url))["rotated"]
    assert client.role == Role.service and verify_secret(client.secret_hash, "second-secret-0123456789")


async def test_two_registry_replicas_starting_together_on_an_empty_database_both_start(tmp_path):
    url = await migrated_database_url("registry_startup_race", tmp_path)
    signing_key = json.dumps(RSAKey.generate_key(2048, parameters={"kid": "shared"}).as_dict(private=True))

    def replica() -> RegistrySettings:
        return RegistrySettings(
            data_dir=tmp_path, database_url=url, migrate_on_start=False, signing_key=signing_key,
            bootstrap_client_id=BOOTSTRAP[0], bootstrap_client_secret=BOOTSTRAP[1], service_clients=SERVICE_CLIENTS,
        )

    async def start_and_stop(settings: RegistrySettings) -> None:
        async with running(create_app(settings)):
            pass

    await asyncio.gather(start_and_stop(replica()), start_and_stop(replica()))
    clients = await configured_clients(url)
    assert set(clients) == {BOOTSTRAP[0], *SERVICE_CLIENTS}
    assert clients[BOOTSTRAP[0]].role == Role.admin
    for client_id, secret in SERVICE_CLIENTS.items():
        assert clients[client_id].role == Role.service and verify_secret(clients[client_id].secret_hash, secret)
