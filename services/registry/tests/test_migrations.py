"""The migrations build the registry's whole schema on an empty database, with no drift from the models."""

import asyncio
import uuid
from datetime import date

import sqlalchemy as sa
from alembic import command

from minka_common.db import UtcDateTime, create_engine_for
from minka_common.ids import utcnow
from minka_common.migrations import alembic_config, drift_after_upgrade
from minka_common.testing import fresh_database_url
from minka_registry import models  # noqa: F401  (every table on the metadata)
from minka_registry.app import MIGRATIONS
from minka_registry.database import VERSION_TABLE, metadata

BEFORE_MINER_SITE = "eed33242fe4d"

# The tables as that revision left them (the models have moved on since).
ORGANIZATIONS = sa.table(
    "organizations", sa.column("id", sa.Uuid()), sa.column("kind", sa.Enum("cooperative", name="organizationkind")), sa.column("name", sa.String()),
    sa.column("country", sa.String()), sa.column("created_at", UtcDateTime()), sa.column("updated_at", UtcDateTime()),
)
MINERS = sa.table(
    "miners", sa.column("id", sa.Uuid()), sa.column("full_name", sa.String()), sa.column("search_name", sa.String()),
    sa.column("gender", sa.Enum("female", name="miner_gender")), sa.column("birth_date", sa.Date()), sa.column("cooperative_id", sa.Uuid()),
    sa.column("created_at", UtcDateTime()), sa.column("updated_at", UtcDateTime()),
)
MEMBERSHIPS = sa.table(
    "memberships", sa.column("id", sa.Uuid()), sa.column("miner_id", sa.Uuid()), sa.column("cooperative_id", sa.Uuid()),
    sa.column("joined_on", sa.Date()), sa.column("created_at", UtcDateTime()),
)


async def test_migrations_create_the_schema_without_drift(tmp_path):
    url = await fresh_database_url("registry_migrations", tmp_path)
    drift, tables = await drift_after_upgrade(MIGRATIONS, url, metadata, VERSION_TABLE)
    assert drift == []
    assert set(metadata.tables) | {VERSION_TABLE} <= tables


async def migrate(url: str, revision: str, *, down: bool = False) -> None:
    step = command.downgrade if down else command.upgrade
    await asyncio.to_thread(step, alembic_config(MIGRATIONS, url), revision)


async def test_the_miner_site_migration_keeps_the_miners_both_ways(tmp_path):
    url = await fresh_database_url("registry_miner_site", tmp_path)
    await migrate(url, BEFORE_MINER_SITE)
    cooperative_id, miner_id, now = uuid.uuid4(), uuid.uuid4(), utcnow()
    engine = create_engine_for(url)
    async with engine.begin() as connection:
        await connection.execute(sa.insert(ORGANIZATIONS).values(
            id=cooperative_id, kind="cooperative", name="Coop", country="PE", created_at=now, updated_at=now))
        await connection.execute(sa.insert(MINERS).values(
            id=miner_id, full_name="Ana", search_name="ana", gender="female", birth_date=date(1990, 1, 1),
            cooperative_id=cooperative_id, created_at=now, updated_at=now))
        await connection.execute(sa.insert(MEMBERSHIPS).values(
            id=uuid.uuid4(), miner_id=miner_id, cooperative_id=cooperative_id, joined_on=date(2024, 1, 1),
            created_at=now))

    await migrate(url, "head")
    miners = sa.table("miners", sa.column("id", sa.Uuid()), sa.column("site_id", sa.Uuid()))
    async with engine.connect() as connection:
        assert (await connection.execute(sa.select(miners.c.id, miners.c.site_id))).all() == [(miner_id, None)]
        assert (await connection.execute(sa.select(MEMBERSHIPS.c.miner_id))).scalars().all() == [miner_id]

    await migrate(url, BEFORE_MINER_SITE, down=True)
    async with engine.connect() as connection:
        columns = await connection.run_sync(lambda sync: {c["name"] for c in sa.inspect(sync).get_columns("miners")})
        assert (await connection.execute(sa.select(MINERS.c.id))).scalars().all() == [miner_id]
    await engine.dispose()
    assert "site_id" not in columns
