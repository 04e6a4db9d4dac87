"""The migrations build the traceability service's whole schema on an empty database, with no drift from the
models; they can be undone to an empty database and run again; and masses are stored as exact decimals
(NUMERIC(38,16) on PostgreSQL, text on SQLite, whose NUMERIC would be a float)."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import inspect

from minka_common.db import create_engine_for, is_sqlite
from minka_common.migrations import alembic_config, drift_after_upgrade, head_revision
from minka_common.testing import fresh_database_url
from minka_traceability import models  # noqa: F401  (every table on the metadata)
from minka_traceability.app import MIGRATIONS
from minka_traceability.database import VERSION_TABLE, metadata

MASS_COLUMNS = {("lots", "mass_kg"), ("lots", "certified_mass_kg"), ("custody_events", "loss_kg"),
                ("event_lots", "mass_kg"), ("transfers", "dispatched_mass_kg"), ("transfers", "received_mass_kg")}


async def downgrade_to_base(url: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "base")


async def schema(url: str) -> tuple[set[str], dict[tuple[str, str], object], str | None]:
    """The tables present, the types of the mass columns, and the revision recorded."""
    engine = create_engine_for(url)

    def read(connection) -> tuple[set[str], dict[tuple[str, str], object], str | None]:
        inspector = inspect(connection)
        tables = set(inspector.get_table_names())
        types = {(table, column["name"]): column["type"] for table in tables & {t for t, _ in MASS_COLUMNS}
                 for column in inspector.get_columns(table) if (table, column["name"]) in MASS_COLUMNS}
        revision = None
        if VERSION_TABLE in tables:
            revision = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()
        return tables, types, revision

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


async def test_migrations_create_the_schema_without_drift(tmp_path):
    url = await fresh_database_url("traceability_migrations", tmp_path)
    drift, tables = await drift_after_upgrade(MIGRATIONS, url, metadata, VERSION_TABLE)
    assert drift == []
    assert set(metadata.tables) | {VERSION_TABLE} <= tables


async def test_masses_are_stored_as_exact_decimals(tmp_path):
    url = await fresh_database_url("traceability_migrations_types", tmp_path)
    await drift_after_upgrade(MIGRATIONS, url, metadata, VERSION_TABLE)
    _, types, _ = await schema(url)
    assert set(types) == MASS_COLUMNS
    for column_type in types.values():
        if is_sqlite(url):
            assert type(column_type).__name__ == "VARCHAR" and column_type.length == 40
        else:
            assert type(column_type).__name__ == "NUMERIC"
            assert (column_type.precision, column_type.scale) == (38, 16)


async def test_the_migrations_can_be_undone_and_run_again(tmp_path):
    url = await fresh_database_url("traceability_migrations_roundtrip", tmp_path)
    await drift_after_upgrade(MIGRATIONS, url, metadata, VERSION_TABLE)

    await downgrade_to_base(url)
    tables, _, revision = await schema(url)
    assert tables & set(metadata.tables) == set()
    assert revision is None

    drift, tables = await drift_after_upgrade(MIGRATIONS, url, metadata, VERSION_TABLE)
    assert drift == []
    assert set(metadata.tables) <= tables
    assert (await schema(url))[2] == head_revision(MIGRATIONS)
