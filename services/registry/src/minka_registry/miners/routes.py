"""Miners, memberships, cooperative members and CSV import (thin routes; rules live in service.py and access.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import select
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from minka_common.auth import CurrentPrincipal, Principal
from minka_common.db import one_or_not_found
from minka_common.errors import ContentTooLarge, NotFound, ProblemError, Unprocessable, UnsupportedMediaType
from minka_common.ids import today
from minka_common.jobs import ACCEPTED_RESPONSE, JobContext, accepted, wants_job
from minka_common.pagination import Page, PageParams, paginate
from minka_common.unit_of_work import UnitOfWorkRoute
from minka_registry.database import Session
from minka_registry.miners import service
from minka_registry.miners.access import (
    ensure_cooperative_in_scope,
    ensure_may_read_miners,
    ensure_may_write_miners,
    visible_miners,
)
from minka_registry.miners.models import Miner
from minka_registry.miners.schemas import (
    ImportedMiner,
    ImportResult,
    JoinRequest,
    LeaveRequest,
    MembershipOut,
    MinerCreate,
    MinerOut,
    MinerUpdate,
    membership_out,
    miner_out,
)

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
"""Largest CSV file accepted by the import (10 MiB; 50,000 rows are far below it)."""
_MULTIPART_OVERHEAD = 64 * 1024
CSV_MEDIA_TYPES = frozenset({"text/csv", "application/csv", "text/plain"})

# national_id is left unset for callers who may not see it; exclude_unset omits it from the JSON.
_MINER_RESPONSE = {"response_model_exclude_unset": True}




async def load_miner(session: Session, principal: Principal, miner_id: uuid.UUID, *, for_update: bool = False) -> Miner:
    """The miner if the caller may see it; another tenant's miner is reported as missing."""
    statement = select(Miner).where(Miner.id == miner_id, visible_miners(principal))
    if for_update:
        statement = statement.with_for_update()
    return await one_or_not_found(session, statement, "miner")


# ------------------------------------------------------------------------------ miners


@router.post("/miners", status_code=201, response_model=MinerOut, tags=["miners"], summary="Register a miner",
             **_MINER_RESPONSE)
async def create_miner(body: MinerCreate, session: Session, principal: CurrentPrincipal) -> MinerOut:
    ensure_may_write_miners(principal)
    ensure_cooperative_in_scope(principal, body.cooperative_id)
    miner, membership = await service.create_miner(session, body, today())
    return miner_out(miner, membership, principal)


@router.get("/miners", response_model=Page[MinerOut], tags=["miners"], summary="List miners", **_MINER_RESPONSE)
async def list_miners(
    session: Session,
    principal: CurrentPrincipal,
    page: PageParams,
    cooperative_id: Annotated[
        uuid.UUID | None, Query(description="miners whose current (or last) cooperative this is")
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="part of the name (case and accents ignored)")] = None,
) -> Page[MinerOut]:
    ensure_may_read_miners(principal)
    statement = service.miners_statement(cooperative_id, q).where(visible_miners(principal))
    found = await paginate(session, statement, Miner.id, page, lambda miner: miner)
    latest = await service.latest_memberships(session, [miner.id for miner in found.items])
    on = today()
    items = [miner_out(m, service.current_membership(latest.get(m.id), on), principal) for m in found.items]
    return Page[MinerOut](items=items, next_cursor=found.next_cursor)


@router.get("/miners/{miner_id}", response_model=MinerOut, tags=["miners"], summary="One miner", **_MINER_RESPONSE)
async def get_miner(miner_id: uuid.UUID, session: Session, principal: CurrentPrincipal) -> MinerOut:
    ensure_may_read_miners(principal)
    miner = await load_miner(session, principal, miner_id)
    latest = (await service.latest_memberships(session, [miner.id])).get(miner.id)
    return miner_out(miner, service.current_membership(latest, today()), principal)


@router.patch("/miners/{miner_id}", response_model=MinerOut, tags=["miners"], summary="Change a miner",
              **_MINER_RESPONSE)
async def update_miner(
    miner_id: uuid.UUID, body: MinerUpdate, session: Session, principal: CurrentPrincipal
) -> MinerOut:
    ensure_may_write_miners(principal)
    miner = await load_miner(session, principal, miner_id, for_update=True)
    miner, membership = await service.update_miner(session, miner, body.model_dump(exclude_unset=True), today())
    return miner_out(miner, membership, principal)


# ------------------------------------------------------------------------------ memberships


@router.post("/miners/{miner_id}/leave", response_model=MembershipOut, tags=["memberships"],
             summary="End the miner's current membership")
async def leave_cooperative(
    miner_id: uuid.UUID, body: LeaveRequest, session: Session, principal: CurrentPrincipal
) -> MembershipOut:
    ensure_may_write_miners(principal)
    miner = await load_miner(session, principal, miner_id, for_update=True)
    return membership_out(await service.leave_cooperative(session, miner, body.left_on or today()))


@router.post("/miners/{miner_id}/join", status_code=201, response_model=MembershipOut, tags=["memberships"],
             summary="Start a new membership (the previous one must have ended)")
async def join_cooperative(
    miner_id: uuid.UUID, body: JoinRequest, session: Session, principal: CurrentPrincipal
) -> MembershipOut:
    ensure_may_write_miners(principal)
    ensure_cooperative_in_scope(principal, body.cooperative_id)
    miner = await load_miner(session, principal, miner_id, for_update=True)
    on = today()
    membership = await service.join_cooperative(session, miner, body.cooperative_id, body.joined_on or on, on)
    return membership_out(membership)


@router.get("/miners/{miner_id}/memberships", response_model=list[MembershipOut], tags=["memberships"],
            summary="The miner's whole membership history, oldest first")
async def list_memberships(miner_id: uuid.UUID, session: Session, principal: CurrentPrincipal) -> list[MembershipOut]:
    ensure_may_read_miners(principal)
    miner = await load_miner(session, principal, miner_id)
    return [membership_out(m) for m in await service.memberships_of(session, miner.id)]


@router.get("/cooperatives/{cooperative_id}/members", response_model=Page[MinerOut], tags=["memberships"],
            summary="Members of a cooperative, today or on a past date", **_MINER_RESPONSE)
async def list_members(
    cooperative_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    page: PageParams,
    on: Annotated[date | None, Query(description="members on this date (default today); "
                                                 "each item's membership is the one covering it")] = None,
) -> Page[MinerOut]:
    ensure_may_read_miners(principal)
    ensure_cooperative_in_scope(principal, cooperative_id)
    if await service.find_cooperative(session, cooperative_id) is None:
        raise NotFound("cooperative not found")
    statement = service.members_statement(cooperative_id, on or today())
    found = await paginate(
        session, statement, Miner.id, page, lambda row: miner_out(row[0], row[1], principal), id_of=lambda row: row[0].id
    )
    return Page[MinerOut](items=found.items, next_cursor=found.next_cursor)


# ------------------------------------------------------------------------------ import

_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "CSV with header full_name,gender,birth_date,national_id (UTF-8, at most 10 MiB)",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


async def _limited(request: Request, limit: int) -> AsyncIterator[bytes]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ContentTooLarge(f"the upload is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ContentTooLarge(f"the upload is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
        yield chunk


async def read_csv_upload(request: Request) -> bytes:
    """The CSV file of an import request: multipart field ``file``, or a raw ``text/csv`` body; at most 10 MiB."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in CSV_MEDIA_TYPES:
        return b"".join([chunk async for chunk in _limited(request, MAX_UPLOAD_BYTES)])
    if media_type != "multipart/form-data":
        raise UnsupportedMediaType("send the CSV file as multipart/form-data (field 'file') or as a text/csv body")

    parser = MultiPartParser(
        request.headers, _limited(request, MAX_UPLOAD_BYTES + _MULTIPART_OVERHEAD), max_files=1, max_fields=10,
        max_part_size=MAX_UPLOAD_BYTES,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ProblemError(f"the multipart body could not be read: {exc.message}") from exc
    try:
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            data = await upload.read(MAX_UPLOAD_BYTES + 1)
        elif isinstance(upload, str):
            data = upload.encode()
        else:
            raise Unprocessable("No file was sent.", errors=[("file", "send the CSV file in the multipart field 'file'")])
    finally:
        await form.close()
    if len(data) > MAX_UPLOAD_BYTES:
        raise ContentTooLarge(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    return data


INLINE_IMPORT_BYTES = 64 * 1024
"""A file up to this size (about 1,000 rows) is imported before the answer (201); a bigger one, or any file sent
with ``Prefer: respond-async``, is imported as a job (202 and its Location)."""
IMPORT_JOB = "miners.import"


@router.post("/miners/import", status_code=201, response_model=ImportResult, tags=["miners"],
             summary="Import miners from a CSV file, all or nothing", openapi_extra=_IMPORT_BODY,
             responses=ACCEPTED_RESPONSE,
             description=f"Files up to {INLINE_IMPORT_BYTES // 1024} KiB are imported before the answer (201). "
                         "Bigger files, and any file sent with `Prefer: respond-async`, are imported as a job: "
                         "202 with the job and its `Location`; the job's `result` is the same as the 201's body, "
                         "its `problem` the same 422 (every bad row) when the file is refused.")
async def import_miners(
    request: Request,
    session: Session,
    principal: CurrentPrincipal,
    cooperative_id: Annotated[uuid.UUID, Query(description="the cooperative the miners join today")],
) -> ImportResult | Response:
    ensure_may_write_miners(principal)
    ensure_cooperative_in_scope(principal, cooperative_id)
    data = await read_csv_upload(request)
    if wants_job(request, len(data), INLINE_IMPORT_BYTES):
        job = await request.app.state.jobs.enqueue(
            session, IMPORT_JOB, principal, input=data,
            params={"cooperative_id": str(cooperative_id), "on": today().isoformat()})
        return accepted(request, job)
    imported = await service.import_miners(session, cooperative_id, data, today())
    return import_result(cooperative_id, imported)


def import_result(cooperative_id: uuid.UUID, imported: list[tuple[int, uuid.UUID]]) -> ImportResult:
    return ImportResult(imported=len(imported), cooperative_id=cooperative_id,
                        miners=[ImportedMiner(line=line, id=miner_id) for line, miner_id in imported])


async def run_import_job(job: JobContext) -> dict:
    """The import of a file too big to finish before a proxy's timeout: the same rules, in the job's transaction."""
    cooperative_id = uuid.UUID(job.params["cooperative_id"])
    imported = await service.import_miners(job.session, cooperative_id, job.input or b"",
                                           date.fromisoformat(job.params["on"]), job.progress)
    return import_result(cooperative_id, imported).model_dump(mode="json")
