"""EPCIS 2.0: a lot's history as a document, and capture of documents from other systems (all or nothing)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.auth import Principal, Role, require_roles
from minka_common.errors import ContentTooLarge, NotFound, ServiceUnavailable, Unprocessable
from minka_common.jobs import JobContext, JobStatus, wants_job
from minka_common.jobs.routes import JobRow, readable_by
from minka_common.jobs.tables import FINISHED
from minka_common.pagination import PageParams, encode_cursor
from minka_common.types import Line
from minka_common.unit_of_work import UnitOfWorkRoute
from minka_traceability.access import Reader, readable_lot
from minka_traceability.database import Session, job_store
from minka_traceability.deps import Now, Settings
from minka_traceability.epcis import capture as capturing
from minka_traceability.epcis.export import Identifiers, dumps, lot_document
from minka_traceability.epcis.models import Capture, CapturedEvent, CapturedIdentifier
from minka_traceability.epcis.validation import EpcisValidator
from minka_traceability.graph import Direction, load_graph

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute, tags=["epcis"])
logger = logging.getLogger("minka.traceability.epcis")
JSON_LD = "application/ld+json"
MAX_CAPTURE_BYTES = 20 * 1024 * 1024

Capturer = Annotated[
    Principal, Depends(require_roles(Role.admin, Role.service, Role.buyer, Role.coop_manager))
]


def validator(request: Request) -> EpcisValidator:
    return validator_of(request.app)


def validator_of(app: Any) -> EpcisValidator:
    found = app.state.epcis_validator
    if found is None:
        raise ServiceUnavailable("the EPCIS 2.0 schema is not configured (MINKA_TRACEABILITY_EPCIS_SCHEMA_PATH)", 60)
    return found


Validator = Annotated[EpcisValidator, Depends(validator)]


class CaptureJob(BaseModel):
    """As the EPCIS REST binding describes a capture job: a small document is captured before the answer, a big one
    by a job whose state this shows (``running`` until it ends, then ``success`` with the events or the errors)."""

    captureID: str
    createdAt: datetime
    finishedAt: datetime | None = None
    running: bool = False
    success: bool = True
    captureErrorBehaviour: str = "rollback"
    errors: list[Any] = Field(default_factory=list)
    eventCount: int


def capture_job(capture: Capture) -> CaptureJob:
    return CaptureJob(captureID=str(capture.id), createdAt=capture.captured_at, finishedAt=capture.captured_at,
                      eventCount=capture.event_count)


def capture_job_of(job: Any) -> CaptureJob:
    """A capture still running as a job, or one whose job failed (a succeeded job's capture is a ``Capture``)."""
    problem = job.problem or {}
    return CaptureJob(captureID=str(job.id), createdAt=job.created_at, finishedAt=job.finished_at,
                      running=job.status not in FINISHED, success=job.status == JobStatus.succeeded,
                      errors=problem.get("errors") or ([problem] if problem else []),
                      eventCount=(job.result or {}).get("eventCount", 0))


INLINE_CAPTURE_BYTES = 1024 * 1024
"""A document up to this size is captured before the answer; a bigger one, or any sent with
``Prefer: respond-async``, by a job."""
CAPTURE_JOB = "epcis.capture"


async def capture_document(session: AsyncSession, app: Any, raw: bytes, principal: Principal, now: datetime,
                           capture_id: uuid.UUID | None = None) -> Capture:
    """Every problem of the document, or the document stored: all or nothing."""
    checker = validator_of(app)
    errors = await capturing.problems(session, raw, checker, app.state.settings.max_capture_events)
    if errors:
        raise Unprocessable(f"the document was refused as a whole: {len(errors)} problem(s)", errors=errors)
    return await capturing.store(session, raw, principal, now, capture_id)


async def run_capture_job(job: JobContext) -> dict[str, Any]:
    now = job.app.state.clock()
    stored = await capture_document(job.session, job.app, job.input or b"", job.principal, now, uuid.UUID(job.id))
    return capture_job(stored).model_dump(mode="json")


@router.get("/lots/{lot_id}/epcis", response_class=Response, summary="The lot's history as an EPCIS 2.0 document",
            responses={200: {"content": {JSON_LD: {}}}})
async def export_lot(
    lot_id: uuid.UUID, session: Session, principal: Reader, settings: Settings, checker: Validator, now: Now,
) -> Response:
    lot = await readable_lot(session, principal, lot_id)
    graph = await load_graph(session, lot.id, Direction.upstream)
    document = lot_document(graph, Identifiers(settings.epc_base_uri), now)
    errors = checker.errors(document)
    if errors:  # our own export failing the schema or the CBV is a bug, not the caller's problem
        logger.error("EPCIS export of lot %s is invalid: %s", lot.id, errors)
        raise RuntimeError("the EPCIS export did not validate")
    return Response(dumps(document), media_type=JSON_LD)


@router.post("/epcis/capture", status_code=202, response_model=CaptureJob,
             summary="Capture an EPCIS 2.0 document of ObjectEvents and TransformationEvents, all or nothing",
             description=f"A document up to {INLINE_CAPTURE_BYTES // 1024} KiB is captured before the answer (the "
                         "capture job comes back finished, or the 422 lists every problem). A bigger one, or any "
                         "sent with `Prefer: respond-async`, is captured by a job: the answer says it is running, "
                         "and `Location` (GET …/epcis/capture/{captureID}) shows when it ends, with its errors if "
                         "the document was refused.")
async def capture(
    request: Request, response: Response, session: Session, principal: Capturer, now: Now, _: Validator,
) -> CaptureJob:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_CAPTURE_BYTES:
        raise ContentTooLarge(f"at most {MAX_CAPTURE_BYTES} bytes are accepted in one capture")
    raw = await request.body()
    if len(raw) > MAX_CAPTURE_BYTES:
        raise ContentTooLarge(f"at most {MAX_CAPTURE_BYTES} bytes are accepted in one capture")
    if wants_job(request, len(raw), INLINE_CAPTURE_BYTES):
        job = await request.app.state.jobs.enqueue(session, CAPTURE_JOB, principal, input=raw, params={}, now=now)
        found = capture_job_of(JobRow(job))
    else:
        found = capture_job(await capture_document(session, request.app, raw, principal, now))
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/v1/epcis/capture/{found.captureID}"
    return found


@router.get("/epcis/capture/{capture_id}", response_model=CaptureJob, summary="A capture job")
async def get_capture(capture_id: uuid.UUID, session: Session, principal: Capturer) -> CaptureJob:
    found = await session.get(Capture, capture_id)
    if found is not None and (principal.is_unscoped or found.organization_id == principal.organization_id):
        return capture_job(found)
    job = (await session.exec(sa_select(job_store).where(
        job_store.c.id == str(capture_id), job_store.c.kind == CAPTURE_JOB, readable_by(principal, job_store)))).first()
    if job is None or job.status == JobStatus.succeeded:  # a succeeded job's capture is the row above
        raise NotFound("capture not found")
    return capture_job_of(job)


@router.get("/epcis/events", response_class=Response, summary="Captured events, optionally those naming one EPC or class",
            responses={200: {"content": {"application/json": {}}}})
async def captured_events(
    session: Session, principal: Capturer, page: PageParams,
    epc: Annotated[Line | None, Query(max_length=500, description="an EPC or EPC class URI")] = None,
) -> Response:
    statement = select(CapturedEvent)
    if not principal.is_unscoped:
        statement = statement.where(CapturedEvent.organization_id == principal.organization_id)
    if epc is not None:
        statement = statement.where(col(CapturedEvent.id).in_(
            select(CapturedIdentifier.event_id).where(CapturedIdentifier.uri == epc)))
    if page.after is not None:
        statement = statement.where(CapturedEvent.id > page.after)
    rows = (await session.exec(statement.order_by(CapturedEvent.id).limit(page.limit + 1))).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    body = {"items": [capturing.event_of(row) for row in rows],
            "next_cursor": encode_cursor(rows[-1].id) if more else None}
    return Response(dumps(body), media_type="application/json")
