"""The job runner on SQLite and PostgreSQL: one runner of several claims a job, a job's changes and its end commit
together or not at all, a job whose runner died is taken up again when its lease runs out, never finished twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from minka_common.auth import Principal, Role
from minka_common.db import Database
from minka_common.errors import Unprocessable
from minka_common.ids import utcnow
from minka_common.jobs import JobContext, JobRunner, JobStatus, job_table
from minka_common.testing import fresh_database_url

metadata = MetaData()
jobs = job_table(metadata)
things = Table("things", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
               Column("name", String(50), nullable=False))
CALLER = Principal("client-1", Role.coop_manager, None)


@pytest.fixture
async def database(tmp_path) -> AsyncIterator[Database]:
    database = Database(await fresh_database_url("common_jobs", tmp_path))
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now


def app_with(database: Database, clock: Clock) -> SimpleNamespace:
    return SimpleNamespace(state=SimpleNamespace(database=database, clock=clock, service_name="test"))


async def make_things(job: JobContext) -> dict:
    """Inserts the things the job names; refuses a bad name with a 422, as a CSV import refuses a bad row."""
    names = job.params["names"]
    await job.session.exec(insert(things), params=[{"name": name} for name in names])
    job.progress(len(names), len(names))
    if "bad" in names:
        raise Unprocessable("a bad name", errors=[("names", "bad")])
    return {"made": len(names)}


async def enqueue(database: Database, runner: JobRunner, names: list[str]) -> str:
    async with database.transaction() as session:
        row = await runner.enqueue(session, "things", CALLER, params={"names": names})
    return row["id"]


async def job(database: Database, job_id: str):
    async with database.engine.connect() as connection:
        return (await connection.execute(select(jobs).where(jobs.c.id == job_id))).one()


async def count_things(database: Database) -> int:
    async with database.engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(things))).scalar_one()


async def test_a_job_runs_once_and_keeps_its_changes_with_its_result(database):
    runner, clock = JobRunner(jobs, {"things": make_things}), Clock()
    job_id = await enqueue(database, runner, ["a", "b", "c"])
    assert await runner.run_next(app_with(database, clock))
    assert not await runner.run_next(app_with(database, clock)), "nothing left to run"
    done = await job(database, job_id)
    assert (done.status, done.result, done.progress_done, done.progress_total) == ("succeeded", {"made": 3}, 3, 3)
    assert done.input is None and done.finished_at is not None
    assert await count_things(database) == 3


async def test_a_refused_job_fails_with_its_problem_and_keeps_nothing(database):
    runner, clock = JobRunner(jobs, {"things": make_things}), Clock()
    job_id = await enqueue(database, runner, ["a", "bad"])
    await runner.run_next(app_with(database, clock))
    failed = await job(database, job_id)
    assert failed.status == JobStatus.failed
    assert failed.problem["status"] == 422 and failed.problem["errors"] == [{"field": "names", "reason": "bad"}]
    assert await count_things(database) == 0


async def test_of_two_runners_only_one_claims_a_job(database):
    first, second, clock = JobRunner(jobs, {"things": make_things}), JobRunner(jobs, {"things": make_things}), Clock()
    await enqueue(database, first, ["a"])
    claims = await asyncio.gather(first.claim(database, clock()), second.claim(database, clock()))
    assert sum(claim is not None for claim in claims) == 1


async def test_a_job_whose_runner_died_is_taken_up_when_its_lease_runs_out_and_finished_once(database):
    dead, alive, clock = JobRunner(jobs, {"things": make_things}), JobRunner(jobs, {"things": make_things}), Clock()
    job_id = await enqueue(database, dead, ["a", "b"])
    assert await dead.claim(database, clock()) is not None  # ... and its process dies before finishing
    assert not await alive.run_next(app_with(database, clock)), "the claim holds while its lease lasts"
    clock.now += dead.lease + timedelta(seconds=1)
    assert await alive.run_next(app_with(database, clock))
    done = await job(database, job_id)
    assert (done.status, done.attempts) == ("succeeded", 2)
    assert await count_things(database) == 2


async def test_a_runner_that_lost_its_claim_keeps_nothing_of_its_run(database):
    """A run that outlived its lease while another runner finished the job: its changes roll back."""
    slow, fast, clock = JobRunner(jobs, {}), JobRunner(jobs, {"things": make_things}), Clock()
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow_things(job: JobContext) -> dict:
        await job.session.exec(insert(things), params=[{"name": "slow"}])
        entered.set()
        await release.wait()
        return {"made": 1}

    slow.handlers = {"things": slow_things}
    job_id = await enqueue(database, fast, ["fast"])
    running = asyncio.create_task(slow.run_next(app_with(database, clock)))
    await asyncio.wait_for(entered.wait(), timeout=120)
    later = Clock()
    later.now = clock.now + slow.lease + timedelta(seconds=1)
    if database.dialect == "sqlite":  # one writer at a time: the slow run holds the lock until it ends
        release.set()
        await running
        assert not await fast.run_next(app_with(database, later)), "the job was finished by the slow run"
        assert (await job(database, job_id)).status == "succeeded"
        return
    assert await fast.run_next(app_with(database, later))
    release.set()
    await running
    done = await job(database, job_id)
    assert (done.status, done.result) == ("succeeded", {"made": 1})
    async with database.engine.connect() as connection:
        assert (await connection.execute(select(things.c.name))).scalars().all() == ["fast"]


async def test_a_job_that_stops_too_often_is_failed(database):
    runner, clock = JobRunner(jobs, {"things": make_things}, max_attempts=2), Clock()
    job_id = await enqueue(database, runner, ["a"])
    for _ in range(2):
        assert await runner.claim(database, clock()) is not None
        clock.now += runner.lease + timedelta(seconds=1)
    assert await runner.run_next(app_with(database, clock))
    failed = await job(database, job_id)
    assert failed.status == "failed" and "stopped 2 times" in failed.problem["detail"]
    assert await count_things(database) == 0
