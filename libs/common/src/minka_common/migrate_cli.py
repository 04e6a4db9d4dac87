"""``python -m minka_common.migrate_cli SERVICE upgrade|revision [message]|check|wait [--timeout SECONDS]``.

Runs a service's Alembic environment against the database its settings name.
``revision`` autogenerates from the models against a scratch SQLite database
migrated to head; ``check`` fails when models and migrations disagree; ``wait``
returns once the database is at the head revision (a pod's init container, so
that replicas wait for the migration Job instead of failing their start-up).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from alembic import command
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from minka_common.db import create_engine_for
from minka_common.migrations import alembic_config, schema_drift, upgrade_to_head

SERVICES = {"registry": "minka_registry", "certification": "minka_certification", "traceability": "minka_traceability"}
DEFAULT_WAIT_SECONDS = 300.0
POLL_SECONDS = 2.0


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


# ---------------------------------------------------------------------------------------------------- wait


async def database_revisions(url: str, version_table: str) -> set[str]:
    """The revisions the database is at: none before its first migration."""

    def current(connection: Connection) -> set[str]:
        context = MigrationContext.configure(connection, opts={"version_table": version_table})
        return set(context.get_current_heads())

    engine = create_engine_for(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(current)
    finally:
        await engine.dispose()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _revisions(revisions: Iterable[str]) -> str:
    return ", ".join(sorted(revisions)) or "no revision (never migrated)"


async def wait_for_head(
    migrations: Path, url: str, version_table: str, give_up_after: float, poll_seconds: float = POLL_SECONDS
) -> str | None:
    """Polls until the database is at the head revision of these migrations. None once it is; when
    ``give_up_after`` seconds pass first, why it is not (behind, ahead of this code, or unreachable)."""
    heads = set(ScriptDirectory(str(migrations)).get_heads())
    deadline = time.monotonic() + give_up_after
    while True:
        remaining = deadline - time.monotonic()
        try:
            current = await asyncio.wait_for(database_revisions(url, version_table), max(remaining, poll_seconds))
        except (SQLAlchemyError, OSError, TimeoutError) as exc:  # the database is not up yet, or not reachable
            problem = f"the database is not reachable: {_first_line(exc)}"
        else:
            if current == heads:
                return None
            problem = f"the database is at {_revisions(current)}, not at the head {_revisions(heads)}"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return problem
        await asyncio.sleep(min(poll_seconds, remaining))


def _wait(name: str, migrations: Path, url: str, version_table: str, timeout: float) -> int:
    problem = asyncio.run(wait_for_head(migrations, url, version_table, timeout))
    if problem is None:
        print(f"{name}: the database is at the head revision", file=sys.stderr)
        return 0
    print(f"{name}: gave up waiting for the migrations after {timeout:g} s: {problem}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------------------------------------------- command line


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m minka_common.migrate_cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("service", choices=SERVICES)
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("upgrade", help="migrate the service's database to the head revision")
    revision = actions.add_parser("revision", help="autogenerate a migration from the models")
    revision.add_argument("message", nargs="*")
    actions.add_parser("check", help="fail when the models and the migrations disagree")
    wait = actions.add_parser("wait", help="return once the database is at the head revision; fail after a timeout")
    wait.add_argument("--timeout", type=float, default=DEFAULT_WAIT_SECONDS, metavar="SECONDS")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    migrations, database, settings_class = _service(arguments.service)
    if arguments.action == "upgrade":
        upgrade_to_head(migrations, settings_class().resolved_database_url())
        return 0
    if arguments.action == "wait":
        url = settings_class().resolved_database_url()
        return _wait(arguments.service, migrations, url, database.VERSION_TABLE, arguments.timeout)
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{Path(scratch) / 'scratch.db'}"
        upgrade_to_head(migrations, url)
        if arguments.action == "revision":
            message = " ".join(arguments.message) or "change"
            command.revision(alembic_config(migrations, url), message=message, autogenerate=True)
            return 0
        drift = asyncio.run(_drift(url, database))
        for difference in drift:
            print("drift:", difference)
        return 1 if drift else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
