from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel
from sqlmodel import select

from minka_certification.database import Session
from minka_certification.standards import service
from minka_certification.standards.document import CODE_PATTERN, StandardDocument, StandardRef
from minka_certification.standards.models import PublishedStandard
from minka_common.auth import CurrentPrincipal, Principal, Role, require_roles
from minka_common.errors import NotFound
from minka_common.pagination import Page, PageParams, paginate
from minka_common.unit_of_work import UnitOfWorkRoute

router = APIRouter(prefix="/v1/standards", tags=["standards"], route_class=UnitOfWorkRoute)


class StandardSummary(BaseModel):
    code: str
    version: str
    kind: str
    title: str
    base: StandardRef | None
    indicator_count: int
    published_at: datetime
    published_by: str


class PublishedStandardOut(StandardSummary):
    document: dict[str, Any]


def _summary(row: PublishedStandard) -> StandardSummary:
    document = row.document
    base = document.get("base")
    return StandardSummary(
        code=row.code, version=row.version, kind=row.kind, title=row.title,
        base=StandardRef(**base) if base else None,
        indicator_count=sum(len(c["indicators"]) for p in document["principles"] for c in p["criteria"]),
        published_at=row.published_at, published_by=row.published_by,
    )


def _out(row: PublishedStandard) -> PublishedStandardOut:
    return PublishedStandardOut(**_summary(row).model_dump(), document=row.document)


@router.post("", status_code=201, response_model=PublishedStandardOut,
             summary="Publish a standard version (admin); every problem of a malformed document is listed")
async def publish_standard(
    body: StandardDocument, session: Session, principal: Annotated[Principal, Depends(require_roles(Role.admin))]
) -> PublishedStandardOut:
    return _out(await service.publish(session, body, principal.subject))


@router.get("", response_model=Page[StandardSummary], summary="List published standards")
async def list_standards(
    session: Session, _: CurrentPrincipal, page: PageParams,
    code: Annotated[str | None, Query(max_length=50, pattern=CODE_PATTERN)] = None,
) -> Page[StandardSummary]:
    statement = select(PublishedStandard)
    if code is not None:
        statement = statement.where(PublishedStandard.code == code)
    return await paginate(session, statement, PublishedStandard.id, page, _summary)


@router.get("/{code}/{version}", response_model=PublishedStandardOut, summary="One published standard version")
async def get_standard(
    code: Annotated[str, Path(pattern=CODE_PATTERN)], version: Annotated[str, Path(pattern=CODE_PATTERN)],
    session: Session, _: CurrentPrincipal,
) -> PublishedStandardOut:
    statement = select(PublishedStandard).where(PublishedStandard.code == code, PublishedStandard.version == version)
    row = (await session.exec(statement)).one_or_none()
    if row is None:
        raise NotFound(f"standard {code} {version} not found")
    return _out(row)
