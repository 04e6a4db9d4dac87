"""Cursor pagination: ``?limit=&cursor=`` → ``{"items": [...], "next_cursor": ...}``.

Ids are time-ordered (UUID v7), so the cursor is simply the last id returned.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, String
from sqlalchemy.types import TypeDecorator
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.errors import Unprocessable

T = TypeVar("T")
R = TypeVar("R")

MAX_PAGE_SIZE = 500


class UuidText(TypeDecorator[uuid.UUID]):
    """Compares a UUID cursor with ids stored as text (tables declared with ``String(36)`` ids)."""

    impl = String(36)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else str(value)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: uuid.UUID | None


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return uuid.UUID(bytes=base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise Unprocessable("The cursor is not valid.", errors=[("cursor", "not a cursor from this API")]) from exc


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="items per page")] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor from the previous page")] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


PageParams = Annotated[PageRequest, Depends(page_request)]


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    id_column: Any,
    page: PageRequest,
    to_item: Callable[[Any], R],
    id_of: Callable[[Any], uuid.UUID] = lambda row: row.id,
) -> Page[R]:
    if page.after is not None:
        statement = statement.where(id_column > page.after)
    statement = statement.order_by(id_column).limit(page.limit + 1)
    rows: Sequence[Any] = (await session.exec(statement)).all()  # type: ignore[call-overload]
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    next_cursor = encode_cursor(id_of(rows[-1])) if has_more else None
    return Page[Any](items=[to_item(row) for row in rows], next_cursor=next_cursor)
