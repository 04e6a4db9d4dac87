"""``/v1/jobs``: where a long request's work stands, and its result or the problem that ended it.

A request that may outlast a proxy's timeout answers ``202 Accepted`` with ``Location: …/v1/jobs/{id}`` and the
job; smaller ones may still finish inline (each endpoint documents its threshold), and a client that always wants
a job sends ``Prefer: respond-async`` (RFC 7240).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Table, select, true, type_coerce
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.auth import CurrentPrincipal, Principal, Role
from minka_common.db import db_session
from minka_common.errors import NotFound, Problem
from minka_common.jobs.runner import JobRunner
from minka_common.jobs.tables import JobStatus
from minka_common.pagination import Page, PageParams, UuidText, paginate
from minka_common.unit_of_work import UnitOfWorkRoute

Session = Annotated[AsyncSession, Depends(db_session)]
PREFER_ASYNC = "respond-async"


class JobProgress(BaseModel):
    done: int = Field(description="Units of work done (rows, features, events)")
    total: int | None = Field(description="Units of work in all, once known")


class JobOut(BaseModel):
    id: uuid.UUID
    kind: str
    status: JobStatus = Field(description="queued → running → succeeded | failed")
    progress: JobProgress
    result: dict[str, Any] | None = Field(None, description="What the work produced, once it succeeded")
    problem: Problem | None = Field(None, description="Why it failed (nothing of it was kept)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


ACCEPTED_RESPONSE: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "Accepted as a job: follow `Location` (GET …/v1/jobs/{id}) until it ends",
          "headers": {"Location": {"description": "The job", "schema": {"type": "string"}}}},
}


def wants_job(request: Request, size: int, inline_limit: int) -> bool:
    """Run as a job: asked for with ``Prefer: respond-async``, or too big to finish within a proxy's timeout."""
    prefer = {part.strip().lower() for part in request.headers.get("prefer", "").split(",")}
    return PREFER_ASYNC in prefer or size > inline_limit


def job_out(row: Any, runner: JobRunner | None = None) -> JobOut:
    live = runner.progress.get(row.id) if runner is not None and row.status == JobStatus.running else None
    done, total = (live.done, live.total) if live else (row.progress_done, row.progress_total)
    return JobOut(id=row.id, kind=row.kind, status=row.status, progress=JobProgress(done=done, total=total),
                  result=row.result, problem=Problem.model_validate(row.problem) if row.problem else None,
                  created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at)


def accepted(request: Request, row: dict[str, Any]) -> JSONResponse:
    """``202 Accepted`` for a job just enqueued, with its ``Location``."""
    location = f"{request.scope.get('root_path', '')}/v1/jobs/{row['id']}"
    body = job_out(JobRow(row)).model_dump(mode="json")
    return JSONResponse(body, status_code=202, headers={"Location": location, "Preference-Applied": PREFER_ASYNC})


class JobRow:
    """A job's row as ``enqueue`` returned it, read like a row from the table."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def readable_by(principal: Principal, jobs: Table) -> ColumnElement[bool]:
    """A job is read by its organisation (or, bound to none, its creator) and by admins."""
    if principal.role is Role.admin:
        return true()
    if principal.organization_id is not None:
        return jobs.c.organization_id == str(principal.organization_id)
    return jobs.c.organization_id.is_(None) & (jobs.c.created_by == principal.subject)


def jobs_router(runner: JobRunner) -> APIRouter:
    jobs = runner.table
    router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=UnitOfWorkRoute)

    @router.get("/{job_id}", response_model=JobOut, summary="A job: its status, progress, and result or problem")
    async def get_job(job_id: uuid.UUID, session: Session, principal: CurrentPrincipal) -> JobOut:
        row = (await session.exec(select(jobs).where(jobs.c.id == str(job_id), readable_by(principal, jobs)))).first()
        if row is None:
            raise NotFound("job not found")
        return job_out(row, runner)

    @router.get("", response_model=Page[JobOut], summary="The caller's jobs, oldest first")
    async def list_jobs(
        session: Session, principal: CurrentPrincipal, page: PageParams,
        status: Annotated[JobStatus | None, Query(description="only jobs in this status")] = None,
    ) -> Page[JobOut]:
        statement = select(jobs).where(readable_by(principal, jobs))
        if status is not None:
            statement = statement.where(jobs.c.status == status.value)
        return await paginate(session, statement, type_coerce(jobs.c.id, UuidText()), page,
                              lambda row: job_out(row, runner), id_of=lambda row: uuid.UUID(row.id))

    return router
