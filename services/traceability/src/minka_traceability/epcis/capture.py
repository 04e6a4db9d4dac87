"""Capture: every problem in a document is listed and nothing is stored unless there are none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import simplejson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.auth import Principal
from minka_common.db import commit_or_conflict
from minka_traceability.epcis.models import Capture, CapturedEvent, CapturedIdentifier
from minka_traceability.epcis.validation import EpcisValidator, parse_document

CAPTURED_TYPES = frozenset({"ObjectEvent", "TransformationEvent"})
_EPC_LISTS = ("epcList", "inputEPCList", "outputEPCList", "childEPCs")
_QUANTITY_LISTS = ("quantityList", "inputQuantityList", "outputQuantityList", "childQuantityList")


def _events(document: Any) -> list[Any]:
    body = document.get("epcisBody") if isinstance(document, dict) else None
    events = body.get("eventList") if isinstance(body, dict) else None
    return events if isinstance(events, list) else []


def identifiers(event: dict[str, Any]) -> set[str]:
    """The EPCs and EPC classes an event names, to find captured events by identifier."""
    found = {epc for name in _EPC_LISTS for epc in event.get(name) or [] if isinstance(epc, str)}
    found |= {q["epcClass"] for name in _QUANTITY_LISTS for q in event.get(name) or []
              if isinstance(q, dict) and isinstance(q.get("epcClass"), str)}
    if isinstance(event.get("parentID"), str):
        found.add(event["parentID"])
    return found


def _scope_problems(events: list[Any], max_events: int) -> Iterator[tuple[str, str]]:
    if len(events) > max_events:
        yield "epcisBody.eventList", f"{len(events)} events; at most {max_events} are captured at once"
    seen: set[str] = set()
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            continue
        path = f"epcisBody.eventList[{index}]"
        if event.get("type") not in CAPTURED_TYPES:
            yield f"{path}.type", f"{event.get('type')} is not captured here: only ObjectEvent and TransformationEvent"
        event_id = event.get("eventID")
        if isinstance(event_id, str):
            if event_id in seen:
                yield f"{path}.eventID", "the same eventID appears twice in the document"
            seen.add(event_id)


async def problems(session: AsyncSession, raw: bytes, checker: EpcisValidator, max_events: int) -> list[tuple[str, str]]:
    try:
        document = parse_document(raw)
    except ValueError as exc:
        return [("body", str(exc))]
    found = checker.errors(document)
    events = _events(document)
    found += list(_scope_problems(events, max_events))
    found += await _already_captured(session, events)
    return found


async def _already_captured(session: AsyncSession, events: list[Any]) -> list[tuple[str, str]]:
    """An eventID captured before is refused, so sending a document again cannot duplicate its events."""
    by_id = {e["eventID"]: i for i, e in enumerate(events) if isinstance(e, dict) and isinstance(e.get("eventID"), str)}
    if not by_id:
        return []
    known = set((await session.exec(
        select(CapturedEvent.event_id).where(col(CapturedEvent.event_id).in_(list(by_id)))
    )).all())
    return [(f"epcisBody.eventList[{by_id[event_id]}].eventID", "already captured")
            for event_id in sorted(known, key=by_id.__getitem__)]


async def store(session: AsyncSession, raw: bytes, principal: Principal, now: datetime) -> Capture:
    """Stores a document that ``problems`` found nothing wrong with, in one transaction."""
    events = _events(parse_document(raw))
    capture = Capture(organization_id=principal.organization_id, actor=principal.subject, event_count=len(events),
                      captured_at=now)
    session.add(capture)
    await session.flush()
    for event in events:
        row = CapturedEvent(capture_id=capture.id, organization_id=principal.organization_id,
                            event_id=event.get("eventID"), type=event["type"],
                            event_time=_utc(event["eventTime"]),
                            event_json=simplejson.dumps(event, use_decimal=True))
        session.add(row)
        await session.flush()
        session.add_all(CapturedIdentifier(event_id=row.id, uri=uri) for uri in identifiers(event))
    await commit_or_conflict(session, "an event of this document was captured by a concurrent request")
    return capture


def _utc(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def event_of(row: CapturedEvent) -> Any:
    return simplejson.loads(row.event_json, use_decimal=True)
