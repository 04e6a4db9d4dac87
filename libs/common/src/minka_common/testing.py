"""Helpers for the test suites and benchmarks of every service (fresh databases, apps started with their lifespan).

Databases made here carry a suffix unique to the run (``MINKA_TEST_RUN_ID``, or one drawn per process), so two
runs of the suite can share one PostgreSQL server; ``drop_created_databases`` removes them at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL, make_url
from starlette.types import ASGIApp

TEST_DATABASE_ENV = "MINKA_TEST_DATABASE_URL"
RUN_ID_ENV = "MINKA_TEST_RUN_ID"
STARTUP_TIMEOUT_ENV = "MINKA_TEST_STARTUP_TIMEOUT_SECONDS"
DEFAULT_STARTUP_TIMEOUT_SECONDS = 600.0
"""Long enough for migrations on a machine at a load of 20; a start that takes longer is stuck, not slow."""

RUN_ID = os.environ.get(RUN_ID_ENV) or f"{os.getpid()}{secrets.token_hex(2)}"
_created: list[str] = []  # PostgreSQL databases made by this process


def test_database_base_url() -> str | None:
    """The PostgreSQL server the suite runs against, or None for SQLite files."""
    return os.environ.get(TEST_DATABASE_ENV) or None


async def _connect(url: URL) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )


async def fresh_database_url(service: str, sqlite_dir: Path) -> str:
    """An empty database for one service: a new SQLite file, or a new PostgreSQL database named
    ``<base>_<service>_<run id>`` next to the base database."""
    base = test_database_base_url()
    if base is None:
        path = sqlite_dir / f"{service}.db"
        path.unlink(missing_ok=True)
        return f"sqlite+aiosqlite:///{path}"
    url = make_url(base)
    name = f"{url.database}_{service}_{RUN_ID}"[:63]
    connection = await _connect(url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    _created.append(name)
    return url.set(database=name).render_as_string(hide_password=False)


async def drop_created_databases() -> None:
    """Drops the PostgreSQL databases this process made (connections still open are ended)."""
    base = test_database_base_url()
    if base is None or not _created:
        return
    connection = await _connect(make_url(base))
    try:
        while _created:
            await connection.execute(f'DROP DATABASE IF EXISTS "{_created.pop()}" WITH (FORCE)')
    finally:
        await connection.close()


def startup_timeout_seconds() -> float:
    return float(os.environ.get(STARTUP_TIMEOUT_ENV) or DEFAULT_STARTUP_TIMEOUT_SECONDS)


@asynccontextmanager
async def running(app: ASGIApp, name: str | None = None) -> AsyncIterator[ASGIApp]:
    """The app with its lifespan run (migrations, bootstrap, background jobs), for as long as the block lasts.

    The start may take as long as a busy machine needs; one that does not finish fails with the app's name
    and the setting to change, instead of a bare ``TimeoutError``."""
    timeout = startup_timeout_seconds()
    label = name or getattr(app, "title", type(app).__name__)
    manager = LifespanManager(app, startup_timeout=timeout, shutdown_timeout=timeout)
    try:
        await manager.__aenter__()
    except TimeoutError as exc:
        raise RuntimeError(
            f"{label} did not finish starting within {timeout:.0f} s (migrations, bootstrap); "
            f"set {STARTUP_TIMEOUT_ENV} to wait longer"
        ) from exc
    try:
        yield manager.app
    finally:
        await manager.__aexit__(None, None, None)
