"""The migrations build the registry's whole schema on an empty database, with no drift from the models."""

from minka_common.db import create_engine_for
from minka_common.migrations import schema_drift, upgrade_to_head_async
from minka_common.testing import fresh_database_url
from minka_registry import models  # noqa: F401  (every table on the metadata)
from minka_registry.app import MIGRATIONS
from minka_registry.database import VERSION_TABLE, metadata


async def test_migrations_create_the_schema_without_drift(tmp_path):
    url = await fresh_database_url("registry_migrations", tmp_path)
    await upgrade_to_head_async(MIGRATIONS, url)
    engine = create_engine_for(url)
    async with engine.connect() as connection:
        drift = await connection.run_sync(schema_drift, metadata, VERSION_TABLE)
        tables = await connection.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
    await engine.dispose()
    assert drift == []
    assert set(metadata.tables) | {VERSION_TABLE} <= tables
