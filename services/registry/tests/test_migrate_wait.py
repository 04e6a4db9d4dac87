"""``migrate_cli registry wait``: a pod's init container returns at once when the database is at the head revision,
and gives up with a clear message when it stays behind (or unreachable) past the timeout."""

from __future__ import annotations

import asyncio
import time

from alembic import command
from alembic.script import ScriptDirectory

from minka_common import migrate_cli
from minka_common.migrate_cli import wait_for_head
from minka_common.migrations import alembic_config, upgrade_to_head_async
from minka_common.testing import fresh_database_url
from minka_registry.app import MIGRATIONS
from minka_registry.database import VERSION_TABLE

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()
BEFORE_HEAD = ScriptDirectory(str(MIGRATIONS)).get_revision(HEAD).down_revision


async def wait(url: str, give_up_after: float) -> tuple[str | None, float]:
    started = time.monotonic()
    problem = await wait_for_head(MIGRATIONS, url, VERSION_TABLE, give_up_after, poll_seconds=0.1)
    return problem, time.monotonic() - started


async def test_at_the_head_revision_it_returns_at_once(tmp_path):
    url = await fresh_database_url("registry_wait_head", tmp_path)
    await upgrade_to_head_async(MIGRATIONS, url)
    problem, waited = await wait(url, give_up_after=30)
    assert problem is None and waited < 5


async def test_a_never_migrated_database_times_out_saying_so(tmp_path):
    url = await fresh_database_url("registry_wait_empty", tmp_path)
    problem, waited = await wait(url, give_up_after=0.5)
    assert problem == f"the database is at no revision (never migrated), not at the head {HEAD}"
    assert 0.5 <= waited < 5


async def test_a_database_one_revision_behind_times_out_naming_both_revisions(tmp_path):
    url = await fresh_database_url("registry_wait_behind", tmp_path)
    await asyncio.to_thread(command.upgrade, alembic_config(MIGRATIONS, url), BEFORE_HEAD)
    problem, waited = await wait(url, give_up_after=0.5)
    assert problem == f"the database is at {BEFORE_HEAD}, not at the head {HEAD}"
    assert 0.5 <= waited < 5


async def test_it_returns_as_soon_as_the_migration_finishes(tmp_path):
    url = await fresh_database_url("registry_wait_until", tmp_path)

    async def migrate_a_little_later() -> None:
        await asyncio.sleep(0.3)
        await upgrade_to_head_async(MIGRATIONS, url)

    (problem, _), _ = await asyncio.gather(wait(url, give_up_after=60), migrate_a_little_later())
    assert problem is None


async def test_an_unreachable_database_times_out_saying_so():
    problem, waited = await wait("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere", give_up_after=0.5)
    assert problem is not None and problem.startswith("the database is not reachable: ")
    assert waited < 10


def test_the_command_line_exits_0_at_head_and_1_with_the_reason_when_behind(tmp_path, monkeypatch, capsys):
    url = asyncio.run(fresh_database_url("registry_wait_cli", tmp_path))
    monkeypatch.setenv("MINKA_REGISTRY_DATABASE_URL", url)
    assert migrate_cli.main(["registry", "wait", "--timeout", "0.2"]) == 1
    assert f"registry: gave up waiting for the migrations after 0.2 s: the database is at no revision " \
           f"(never migrated), not at the head {HEAD}" in capsys.readouterr().err
    assert migrate_cli.main(["registry", "upgrade"]) == 0
    assert migrate_cli.main(["registry", "wait"]) == 0
