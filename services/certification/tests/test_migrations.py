"""The migrations build the certification service's whole schema on an empty database, with no drift."""

from minka_certification import models  # noqa: F401  (every table on the metadata)
from minka_certification.app import MIGRATIONS
from minka_certification.database import VERSION_TABLE, metadata
from minka_common.migrations import drift_after_upgrade
from minka_common.testing import fresh_database_url


async def test_migrations_create_the_schema_without_drift(tmp_path):
    url = await fresh_database_url("certification_migrations", tmp_path)
    drift, tables = await drift_after_upgrade(MIGRATIONS, url, metadata, VERSION_TABLE)
    assert drift == []
    assert set(metadata.tables) | {VERSION_TABLE} <= tables
