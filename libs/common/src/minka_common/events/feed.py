"""``GET /v1/events?after=<cursor>``: a service's domain events in commit order, as its caller may see them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from minka_common.auth import CurrentPrincipal, organization_scope
from minka_common.errors import Unprocessable
from minka_common.events.outbox import read_events
from minka_common.events.tables import EventTables

MAX_FEED_PAGE = 500


class Event(BaseModel):
    id: str
    cursor: str = Field(description="Pass as ?after= to read the events that follow this one")
    type: str
    subject: str = Field(description="What the event is about, as kind:id; events of one subject are in order")
    occurred_at: datetime
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[Event]
    next_cursor: str = Field(description="Pass as ?after= to poll for the next events; unchanged when none were new")
    has_more: bool


def parse_cursor(after: str | None) -> int:
    if after is None or after == "":
        return 0
    if not after.isdigit() or len(after) > 18:
        raise Unprocessable("The cursor is not valid.", errors=[("after", "not a cursor from this feed")])
    return int(after)


def event_from_row(row: Any) -> Event:
    return Event(id=row.id, cursor=str(row.position), type=row.type, subject=row.subject,
                 occurred_at=row.occurred_at, data=row.data)


def events_router(tables: EventTables, event_types: Sequence[str]) -> APIRouter:
    router = APIRouter(prefix="/v1/events", tags=["events"])
    description = "Event types of this service: " + ", ".join(f"`{name}`" for name in event_types)

    @router.get("", response_model=EventPage, summary="Domain events after a cursor, oldest first",
                description=description)
    async def list_events(
        request: Request,
        principal: CurrentPrincipal,
        after: Annotated[str | None, Query(description="next_cursor of the previous page; none for the start")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_FEED_PAGE)] = 100,
        type: Annotated[list[str] | None, Query(description="only these event types")] = None,
    ) -> EventPage:
        position = parse_cursor(after)
        unknown = sorted(set(type or ()) - set(event_types))
        if unknown:
            raise Unprocessable("Unknown event type.", errors=[("type", f"unknown: {', '.join(unknown)}")])
        scope = organization_scope(principal)
        async with request.app.state.database.engine.connect() as connection:
            rows = await read_events(connection, tables, after=position, limit=limit + 1,
                                     organization_id=str(scope) if scope else None, types=type or ())
        items = [event_from_row(row) for row in rows[:limit]]
        return EventPage(items=items, next_cursor=items[-1].cursor if items else str(position),
                         has_more=len(rows) > limit)

    return router
