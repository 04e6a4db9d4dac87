"""The migrations build the certification service's whole schema on an empty database, with no drift."""

from minka_certification import models  # noqa: F401  (every table on the metadata)
from minka_certification.app import MIGRATIONS
from minka_certification.database import VERSION_TABLE, metadata
from minka_common.db import create_engine_for
from minka_common.migrations import schema_drift, upgrade_to_head_async
from minka_common.testing import fresh_database_url


async def test_migrations_create_the_schema_without_drift(tmp_path):
    url = await fresh_database_url("certification_migrations", tmp_path)
    await upgrade_to_head_async(MIGRATIONS, url)
    engine = create_engine_for(url)
    async with engine.connect() as connection:
        drift = await connection.run_sync(schema_drift, metadata, VERSION_TABLE)
        tables = await connection.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
    await engine.dispose()
    assert drift == []
    assert set(metadata.tables) | {VERSION_TABLE} <= tables
