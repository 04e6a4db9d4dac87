"""Long work as jobs: a row in the service's own database, run once, all or nothing (see ``runner``)."""

from minka_common.jobs.routes import ACCEPTED_RESPONSE, JobOut, accepted, jobs_router, wants_job
from minka_common.jobs.runner import JobContext, JobHandler, JobRunner
from minka_common.jobs.tables import JobStatus, job_table

__all__ = ["ACCEPTED_RESPONSE", "JobContext", "JobHandler", "JobOut", "JobRunner", "JobStatus", "accepted",
           "job_table", "jobs_router", "wants_job"]
