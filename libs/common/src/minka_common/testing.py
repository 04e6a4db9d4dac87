"""Helpers for the test suites of every service (fresh databases, authenticated clients)."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

TEST_DATABASE_ENV = "MINKA_TEST_DATABASE_URL"


def test_database_base_url() -> str | None:
    """The PostgreSQL server the suite runs against, or None for SQLite files."""
    return os.environ.get(TEST_DATABASE_ENV) or None


async def fresh_database_url(service: str, sqlite_dir: Path) -> str:
    """An empty database for one service: a new SQLite file, or a re-created PostgreSQL database."""
    base = test_database_base_url()
    if base is None:
        path = sqlite_dir / f"{service}.db"
        path.unlink(missing_ok=True)
        return f"sqlite+aiosqlite:///{path}"
    url = make_url(base)
    name = f"{url.database}_{service}"
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return url.set(database=name).render_as_string(hide_password=False)
