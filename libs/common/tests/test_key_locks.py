"""The hold a running request has on its Idempotency-Key with SQLite: in the process, and across processes through a
lock file whose locks the operating system drops when the holding process ends, however it ends."""

from __future__ import annotations

import asyncio
import sys

from minka_common.idempotency import KeyClaim, ProcessKeyLocks

HOLD_IN_ANOTHER_PROCESS = """
import asyncio, sys
from pathlib import Path
from minka_common.idempotency import KeyClaim, ProcessKeyLocks
locks = ProcessKeyLocks(Path(sys.argv[1]))
assert asyncio.run(locks.acquire(None, KeyClaim("coop_manager:a", "k1", "f")))
print("held", flush=True)
sys.stdin.read()
"""


async def test_a_key_is_held_once_in_a_process_and_free_after_release(tmp_path):
    locks = ProcessKeyLocks(tmp_path / "db.sqlite.idempotency-locks")
    claim = KeyClaim("coop_manager:a", "k1", "f")
    assert await locks.acquire(None, claim)
    assert not await locks.acquire(None, claim)
    assert await locks.acquire(None, KeyClaim("coop_manager:b", "k1", "f")), "keys are per caller"
    locks.release(claim)
    assert await locks.acquire(None, claim)


async def test_a_key_held_by_another_process_is_free_the_moment_that_process_is_killed(tmp_path):
    lock_file = tmp_path / "db.sqlite.idempotency-locks"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_IN_ANOTHER_PROCESS, str(lock_file),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        assert (await holder.stdout.readline()).strip() == b"held"
        locks = ProcessKeyLocks(lock_file)
        claim = KeyClaim("coop_manager:a", "k1", "f")
        assert not await locks.acquire(None, claim)
        assert await locks.acquire(None, KeyClaim("coop_manager:a", "k2", "f")), "another key is free"
        holder.kill()
        await holder.wait()
        assert await locks.acquire(None, claim)
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()


async def test_a_request_session_refuses_to_commit_on_its_own(tmp_path):
    """Handlers flush; the request's unit of work commits once, with the idempotency outcome."""
    import pytest

    from minka_common.db import COMMITTED_BY_REQUEST, Database

    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'session.db'}")
    async with database.session() as session:
        session.info[COMMITTED_BY_REQUEST] = True
        with pytest.raises(RuntimeError, match="flush instead of commit"):
            await session.commit()
    await database.dispose()
