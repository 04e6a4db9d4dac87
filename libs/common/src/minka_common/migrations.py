"""Alembic helpers: one migration environment per service, each with its own version table."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, pool
from sqlalchemy.ext.asyncio import create_async_engine

from minka_common.db import ensure_sqlite_directory


def alembic_config(script_location: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def run_env(context: EnvironmentContext, metadata: MetaData, version_table: str) -> None:
    """Body of a service's ``env.py`` (online mode, async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    asyncio.run(run())


def upgrade_to_head(script_location: Path, database_url: str) -> None:
    """Synchronous; from async code call it in a thread (env.py runs its own event loop)."""
    ensure_sqlite_directory(database_url)
    command.upgrade(alembic_config(script_location, database_url), "head")


async def upgrade_to_head_async(script_location: Path, database_url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, script_location, database_url)


def schema_drift(connection: Connection, metadata: MetaData, version_table: str) -> list[tuple]:
    """Differences between the models and a migrated database (empty when they agree)."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "version_table": version_table, "target_metadata": metadata}
    )
    return [diff for diff in compare_metadata(context, metadata) if not _is_version_table(diff, version_table)]


def _is_version_table(diff: tuple, version_table: str) -> bool:
    return diff[0] == "remove_table" and getattr(diff[1], "name", None) == version_table


def head_revision(script_location: Path) -> str | None:
    return ScriptDirectory(str(script_location)).get_current_head()


async def drift_after_upgrade(
    script_location: Path, database_url: str, metadata: MetaData, version_table: str
) -> tuple[list[tuple], set[str]]:
    """Migrates a database to head, then compares it with the models: (drift, the table names present)."""
    from minka_common.db import create_engine_for

    await upgrade_to_head_async(script_location, database_url)
    engine = create_engine_for(database_url)
    try:
        async with engine.connect() as connection:
            drift = await connection.run_sync(schema_drift, metadata, version_table)
            tables = await connection.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
    finally:
        await engine.dispose()
    return drift, tables
