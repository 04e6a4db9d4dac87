"""Long work as jobs: enqueued by a request in its own transaction, run once, all or nothing, by any replica.

Why a table and not a job library: a job's changes and its final status must commit in one transaction of the
service's own database, on SQLite as on PostgreSQL, so that a job is never half done and never done twice; the job
libraries of the Python ecosystem keep their queue apart from the application's data (Redis, RabbitMQ) or support
PostgreSQL only (procrastinate). The queue here is the ``jobs`` table, claimed with conditional updates, as
webhook deliveries are.

- A request enqueues a job (a row, ``queued``) in its transaction and answers ``202 Accepted`` with the job's
  ``Location``; the runner of the process is woken when that transaction commits, the runners of other replicas
  find it at their next poll.
- A runner claims a job by moving it to ``running`` with a lease (``lease_until``) that a heartbeat extends while
  the job runs. The job's changes and ``succeeded`` commit together, conditional on the claim: if the lease was
  lost, nothing of this run commits.
- A job whose process died keeps its claim until the lease runs out; then another runner (or the restarted one)
  claims it again, up to ``job_max_attempts`` times. A refusal (a problem, e.g. 422 with the rows of a CSV file that
  are wrong) ends the job ``failed`` with that problem, and nothing of it is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Table, and_, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.auth import Principal, Role
from minka_common.db import Database, after_commit
from minka_common.errors import Problem, ProblemError
from minka_common.ids import Clock, new_id, utcnow
from minka_common.jobs.tables import JobStatus
from minka_common.settings import ServiceSettings, service_settings

logger = logging.getLogger("minka.jobs")


@dataclass
class JobContext:
    """What a job's handler works with: its own session (flush, never commit), its input and its caller."""

    app: FastAPI
    session: AsyncSession
    id: str
    params: dict[str, Any]
    input: bytes | None
    principal: Principal
    progress: Callable[[int, int | None], None]


JobHandler = Callable[[JobContext], Awaitable[dict[str, Any]]]


@dataclass
class Progress:
    done: int = 0
    total: int | None = None


@dataclass
class JobRunner:
    """The jobs of one service app: the kinds it knows, the table, and the background task that runs them."""

    table: Table
    handlers: Mapping[str, JobHandler]
    lease_seconds: float = 30.0
    max_attempts: int = 3
    poll_seconds: float = 2.0
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    progress: dict[str, Progress] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    # --- requests ---------------------------------------------------------------------------------------------

    async def enqueue(self, session: AsyncSession, kind: str, principal: Principal, *, params: dict[str, Any],
                      input: bytes | None = None, now: datetime | None = None) -> dict[str, Any]:
        """Adds a job in the request's transaction; the runner wakes when it commits. Returns the job's row."""
        if kind not in self.handlers:
            raise ValueError(f"no handler for jobs of kind {kind}")
        row = {
            "id": str(new_id()), "kind": kind, "status": JobStatus.queued.value,
            "organization_id": str(principal.organization_id) if principal.organization_id else None,
            "created_by": principal.subject[:255],
            "params": {**params, "principal": {"subject": principal.subject, "role": principal.role.value,
                                               "organization_id": str(principal.organization_id or "") or None}},
            "input": input, "progress_done": 0, "progress_total": None, "result": None, "problem": None,
            "attempts": 0, "claimed_by": None, "lease_until": None, "created_at": now or utcnow(),
            "started_at": None, "finished_at": None,
        }
        await session.exec(insert(self.table).values(row))  # type: ignore[call-overload]
        after_commit(session, self._wake.set)
        return row

    # --- the background task ----------------------------------------------------------------------------------

    def configure(self, settings: ServiceSettings) -> None:
        self.lease_seconds, self.max_attempts = settings.job_lease_seconds, settings.job_max_attempts
        self.poll_seconds = settings.job_poll_seconds

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    async def start(self, app: FastAPI) -> None:
        self.configure(service_settings(app))
        if self.poll_seconds > 0:
            self._task = asyncio.create_task(self._run_forever(app))

    async def stop(self, app: FastAPI) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run_forever(self, app: FastAPI) -> None:
        while True:
            try:
                while await self.run_next(app):
                    pass
            except Exception:  # the database being away must not end the loop
                logger.exception("%s: the job runner failed; it tries again", app.state.service_name)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def run_next(self, app: FastAPI) -> bool:
        """Claims and runs the next job that is due; False when there was none."""
        clock: Clock = getattr(app.state, "clock", utcnow)
        job = await self.claim(app.state.database, clock())
        if job is None:
            return False
        await self._run(app, job, clock)
        return True

    async def claim(self, database: Database, now: datetime) -> Any | None:
        """Takes the oldest job that is queued or whose lease ran out: true for one runner of several."""
        due = or_(self.table.c.status == JobStatus.queued.value,
                  and_(self.table.c.status == JobStatus.running.value, self.table.c.lease_until < now))
        async with database.engine.begin() as connection:
            job_id = (await connection.execute(
                select(self.table.c.id).where(due).order_by(self.table.c.created_at, self.table.c.id).limit(1)
            )).scalar()
            if job_id is None:
                return None
            claimed = await connection.execute(
                update(self.table).where(self.table.c.id == job_id, due).values(
                    status=JobStatus.running.value, claimed_by=self.token, lease_until=now + self.lease,
                    attempts=self.table.c.attempts + 1, started_at=func.coalesce(self.table.c.started_at, now))
            )
            if claimed.rowcount != 1:
                return None
            return (await connection.execute(select(self.table).where(self.table.c.id == job_id))).one()

    async def _run(self, app: FastAPI, job: Any, clock: Clock) -> None:
        if job.attempts > self.max_attempts:
            await self._finish(app.state.database, job.id, clock(), problem=Problem(
                type="https://minka.example/problems/internal", title="Internal server error", status=500,
                detail=f"the job stopped {self.max_attempts} times before it could finish; nothing of it "
                       "was kept"))
            return
        progress = self.progress[job.id] = Progress(job.progress_done, job.progress_total)
        heartbeat = asyncio.create_task(self._heartbeat(app.state.database, job.id, progress, clock))
        try:
            await self._attempt(app, job, progress, clock)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            self.progress.pop(job.id, None)

    async def _attempt(self, app: FastAPI, job: Any, progress: Progress, clock: Clock) -> None:
        database: Database = app.state.database

        def report(done: int, total: int | None) -> None:
            progress.done, progress.total = done, total

        async with database.session() as session:
            context = JobContext(app, session, job.id, dict(job.params), job.input, _principal(job.params), report)
            try:
                result = await self.handlers[job.kind](context)
            except ProblemError as refused:
                await session.rollback()
                await self._finish(database, job.id, clock(), problem=refused.to_problem())
                return
            except Exception:
                await session.rollback()
                logger.exception("job %s (%s) failed; it is tried again", job.id, job.kind)
                await self._release(database, job.id, clock())
                return
            if await self._mark_finished(session, job.id, clock(), result=result, progress=progress):
                await session.commit()
            else:
                await session.rollback()
                logger.warning("job %s lost its claim before finishing; its run was rolled back", job.id)

    async def _mark_finished(self, session: AsyncSession, job_id: str, now: datetime, *, progress: Progress,
                             result: dict[str, Any] | None = None, problem: Problem | None = None) -> bool:
        """Records the end, conditional on this runner's claim, in the session's transaction."""
        finished = await session.exec(  # type: ignore[call-overload]
            update(self.table).where(self.table.c.id == job_id, self.table.c.claimed_by == self.token,
                                     self.table.c.status == JobStatus.running.value)
            .values(status=(JobStatus.failed if problem else JobStatus.succeeded).value, finished_at=now,
                    result=result, problem=problem.model_dump(exclude_none=True) if problem else None,
                    input=None, lease_until=None, progress_done=progress.total or progress.done,
                    progress_total=progress.total)
        )
        return finished.rowcount == 1

    async def _finish(self, database: Database, job_id: str, now: datetime, *, problem: Problem) -> None:
        async with database.transaction() as session:
            progress = self.progress.get(job_id) or Progress()
            await self._mark_finished(session, job_id, now, problem=problem, progress=progress)

    async def _release(self, database: Database, job_id: str, now: datetime) -> None:
        """Gives an unexpectedly failed job back to the queue, after a pause (a lease no runner holds)."""
        async with database.engine.begin() as connection:
            await connection.execute(
                update(self.table).where(self.table.c.id == job_id, self.table.c.claimed_by == self.token)
                .values(claimed_by=None, lease_until=now + self.lease)
            )

    async def _heartbeat(self, database: Database, job_id: str, progress: Progress, clock: Clock) -> None:
        """Extends the lease and saves the progress while the job runs (on SQLite, while the job holds the write
        lock, a beat waits or fails: the job is not held up by it, and the lease outlasts a few missed beats)."""
        while True:
            await asyncio.sleep(self.lease_seconds / 4)
            try:
                async with database.engine.begin() as connection:
                    await connection.execute(
                        update(self.table).where(self.table.c.id == job_id, self.table.c.claimed_by == self.token,
                                                 self.table.c.status == JobStatus.running.value)
                        .values(lease_until=clock() + self.lease, progress_done=progress.done,
                                progress_total=progress.total)
                    )
            except OperationalError:
                logger.info("job %s: heartbeat missed (database busy)", job_id)

    def wake(self) -> None:
        self._wake.set()


def _principal(params: Mapping[str, Any]) -> Principal:
    who = params["principal"]
    organization = who.get("organization_id")
    return Principal(who["subject"], Role(who["role"]), uuid.UUID(organization) if organization else None)
