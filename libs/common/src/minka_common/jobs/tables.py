"""The ``jobs`` table of a service that runs long work in the background, declared on the service's own metadata.

A job is a row: what to do (``kind``, ``params``, ``input``), who may read it, and where it stands. The runner
claims a job with a conditional update that gives it a lease (``claimed_by``, ``lease_until``); the job's own
changes and its final status commit in one transaction, conditional on the claim still being held.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, Column, Index, Integer, LargeBinary, MetaData, String, Table

from minka_common.db import UtcDateTime


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


FINISHED = frozenset({JobStatus.succeeded, JobStatus.failed})


def job_table(metadata: MetaData) -> Table:
    return Table(
        "jobs",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("kind", String(64), nullable=False),
        Column("status", String(16), nullable=False),
        Column("organization_id", String(36), nullable=True, index=True),
        Column("created_by", String(255), nullable=False),
        Column("params", JSON, nullable=False),
        Column("input", LargeBinary, nullable=True),
        Column("progress_done", Integer, nullable=False),
        Column("progress_total", Integer, nullable=True),
        Column("result", JSON, nullable=True),
        Column("problem", JSON, nullable=True),
        Column("attempts", Integer, nullable=False),
        Column("claimed_by", String(64), nullable=True),
        Column("lease_until", UtcDateTime, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("started_at", UtcDateTime, nullable=True),
        Column("finished_at", UtcDateTime, nullable=True),
        Index("ix_jobs_status_lease", "status", "lease_until"),
    )
