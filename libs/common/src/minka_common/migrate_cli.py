"""``python -m minka_common.migrate_cli SERVICE upgrade|revision|check [message]``.

Runs a service's Alembic environment against the database its settings name.
``revision`` autogenerates from the models against a scratch SQLite database
migrated to head; ``check`` fails when models and migrations disagree.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import tempfile
from pathlib import Path

from alembic import command

from minka_common.db import create_engine_for
from minka_common.migrations import alembic_config, schema_drift, upgrade_to_head

SERVICES = {"registry": "minka_registry", "certification": "minka_certification", "traceability": "minka_traceability"}


def _service(name: str):
    package = SERVICES[name]
    app_module = importlib.import_module(f"{package}.app")
    database = importlib.import_module(f"{package}.database")
    importlib.import_module(f"{package}.models")
    settings = importlib.import_module(f"{package}.settings")
    settings_class = next(
        value for key, value in vars(settings).items() if key.endswith("Settings") and key != "ServiceSettings"
    )
    return app_module.MIGRATIONS, database, settings_class


async def _drift(url: str, database) -> list:
    engine = create_engine_for(url)
    async with engine.connect() as connection:
        drift = await connection.run_sync(schema_drift, database.metadata, database.VERSION_TABLE)
    await engine.dispose()
    return drift


def main(argv: list[str]) -> int:
    name, action, *rest = argv
    migrations, database, settings_class = _service(name)
    if action == "upgrade":
        upgrade_to_head(migrations, settings_class().resolved_database_url())
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{Path(scratch) / 'scratch.db'}"
        upgrade_to_head(migrations, url)
        if action == "revision":
            command.revision(alembic_config(migrations, url), message=" ".join(rest) or "change", autogenerate=True)
            return 0
        if action == "check":
            drift = asyncio.run(_drift(url, database))
            for difference in drift:
                print("drift:", difference)
            return 1 if drift else 0
    raise SystemExit(f"unknown action {action!r}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
