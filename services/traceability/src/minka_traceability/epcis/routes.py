"""EPCIS 2.0: a lot's history as a document, and capture of documents from other systems (all or nothing)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import col, select

from minka_common.auth import Principal, Role, require_roles
from minka_common.errors import ContentTooLarge, NotFound, ServiceUnavailable, Unprocessable
from minka_common.idempotency import IdempotentRoute
from minka_common.pagination import PageParams, encode_cursor
from minka_common.types import Line
from minka_traceability.access import Reader, readable_lot
from minka_traceability.database import Session
from minka_traceability.deps import Now, Settings
from minka_traceability.epcis import capture as capturing
from minka_traceability.epcis.export import Identifiers, dumps, lot_document
from minka_traceability.epcis.models import Capture, CapturedEvent, CapturedIdentifier
from minka_traceability.epcis.validation import EpcisValidator
from minka_traceability.graph import Direction, load_graph

router = APIRouter(prefix="/v1", route_class=IdempotentRoute, tags=["epcis"])
logger = logging.getLogger("minka.traceability.epcis")
JSON_LD = "application/ld+json"
MAX_CAPTURE_BYTES = 20 * 1024 * 1024

Capturer = Annotated[
    Principal, Depends(require_roles(Role.admin, Role.service, Role.buyer, Role.coop_manager))
]


def validator(request: Request) -> EpcisValidator:
    found = request.app.state.epcis_validator
    if found is None:
        raise ServiceUnavailable("the EPCIS 2.0 schema is not configured (MINKA_TRACEABILITY_EPCIS_SCHEMA_PATH)", 60)
    return found


Validator = Annotated[EpcisValidator, Depends(validator)]


class CaptureJob(BaseModel):
    """As the EPCIS REST binding describes a capture job; capture here finishes before the answer."""

    captureID: str
    createdAt: datetime
    finishedAt: datetime
    running: bool = False
    success: bool = True
    captureErrorBehaviour: str = "rollback"
    errors: list[Any] = Field(default_factory=list)
    eventCount: int


def capture_job(capture: Capture) -> CaptureJob:
    return CaptureJob(captureID=str(capture.id), createdAt=capture.captured_at, finishedAt=capture.captured_at,
                      eventCount=capture.event_count)


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
             summary="Capture an EPCIS 2.0 document of ObjectEvents and TransformationEvents, all or nothing")
async def capture(
    request: Request, response: Response, session: Session, principal: Capturer, settings: Settings,
    checker: Validator, now: Now,
) -> CaptureJob:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_CAPTURE_BYTES:
        raise ContentTooLarge(f"at most {MAX_CAPTURE_BYTES} bytes are accepted in one capture")
    raw = await request.body()
    if len(raw) > MAX_CAPTURE_BYTES:
        raise ContentTooLarge(f"at most {MAX_CAPTURE_BYTES} bytes are accepted in one capture")
    errors = await capturing.problems(session, raw, checker, settings.max_capture_events)
    if errors:
        raise Unprocessable(f"the document was refused as a whole: {len(errors)} problem(s)", errors=errors)
    stored = await capturing.store(session, raw, principal, now)
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/v1/epcis/capture/{stored.id}"
    return capture_job(stored)


@router.get("/epcis/capture/{capture_id}", response_model=CaptureJob, summary="A capture job")
async def get_capture(capture_id: uuid.UUID, session: Session, principal: Capturer) -> CaptureJob:
    found = await session.get(Capture, capture_id)
    if found is None or (not principal.is_unscoped and found.organization_id != principal.organization_id):
        raise NotFound("capture not found")
    return capture_job(found)


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
