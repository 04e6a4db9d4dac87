from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from minka_common.auth import Principal, Role, require_roles
from minka_common.errors import Conflict, NotFound
from minka_common.pagination import Page, PageParams, paginate
from minka_common.types import Text
from minka_common.unit_of_work import UnitOfWorkRoute
from minka_traceability.access import Reader, acting_organization
from minka_traceability.database import Session
from minka_traceability.deps import Certification, Now, Settings
from minka_traceability.graph import visible_lots
from minka_traceability.red_flags.models import RedFlag
from minka_traceability.red_flags.rules import Rule
from minka_traceability.red_flags.service import recheck_claims

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute, tags=["red flags"])


class RedFlagOut(BaseModel):
    id: uuid.UUID
    rule: Rule
    lot_id: uuid.UUID
    message: str
    details: dict[str, Any]
    raised_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    closing_note: str | None


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Text = Field(min_length=1, max_length=2000, description="what was found and done")


class RecheckOut(BaseModel):
    raised: list[RedFlagOut]


def red_flag_out(flag: RedFlag) -> RedFlagOut:
    return RedFlagOut.model_validate(flag, from_attributes=True)


def _visible_flags(principal: Principal):
    statement = select(RedFlag)
    if principal.is_unscoped:
        return statement
    visible = visible_lots(acting_organization(principal))
    return statement.where(col(RedFlag.lot_id).in_(select(visible.c.lot_id)))


@router.get("/red-flags", response_model=Page[RedFlagOut],
            summary="Red flags on lots the caller may read (open ones unless asked otherwise)")
async def list_red_flags(
    session: Session, principal: Reader, page: PageParams,
    rule: Annotated[Rule | None, Query()] = None,
    lot_id: Annotated[uuid.UUID | None, Query()] = None,
    include_closed: Annotated[bool, Query()] = False,
) -> Page[RedFlagOut]:
    statement = _visible_flags(principal)
    if not include_closed:
        statement = statement.where(col(RedFlag.closed_at).is_(None))
    if rule is not None:
        statement = statement.where(RedFlag.rule == rule.value)
    if lot_id is not None:
        statement = statement.where(RedFlag.lot_id == lot_id)
    return await paginate(session, statement, RedFlag.id, page, red_flag_out)


@router.post("/red-flags/{flag_id}/close", response_model=RedFlagOut,
             summary="Close a red flag after due diligence (admin or authority), with a note")
async def close_red_flag(
    flag_id: uuid.UUID, body: CloseRequest, session: Session, now: Now,
    principal: Annotated[Principal, Depends(require_roles(Role.admin, Role.authority))],
) -> RedFlagOut:
    flag = await session.get(RedFlag, flag_id)
    if flag is None:
        raise NotFound("red flag not found")
    if flag.closed_at is not None:
        raise Conflict("the red flag is already closed")
    flag.closed_at, flag.closed_by, flag.closing_note = now, principal.subject, body.note
    session.add(flag)
    await session.flush()
    return red_flag_out(flag)


@router.post("/red-flags/recheck", response_model=RecheckOut,
             summary="Check certified origin lots against certification's history now (also done periodically)")
async def recheck(
    session: Session, certification: Certification, settings: Settings, now: Now,
    principal: Annotated[Principal, Depends(require_roles(Role.admin, Role.authority, Role.service))],
) -> RecheckOut:
    raised = await recheck_claims(session, certification, now.date(), settings.claim_recheck_days)
    return RecheckOut(raised=[red_flag_out(flag) for flag in raised])
