"""Capture: every problem in a document is listed and nothing is stored unless there are none."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import simplejson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.auth import Principal
from minka_common.db import flush_or_conflict
from minka_traceability.epcis.models import Capture, CapturedEvent, CapturedIdentifier
from minka_traceability.epcis.validation import EpcisValidator, parse_document

CAPTURED_TYPES = frozenset({"ObjectEvent", "TransformationEvent"})
MAX_IDENTIFIER_LENGTH = 500
"""Of an eventID and of an EPC or EPC class, as their columns hold them."""
_EPC_LISTS = ("epcList", "inputEPCList", "outputEPCList", "childEPCs")
_QUANTITY_LISTS = ("quantityList", "inputQuantityList", "outputQuantityList", "childQuantityList")


def _events(document: Any) -> list[Any]:
    body = document.get("epcisBody") if isinstance(document, dict) else None
    events = body.get("eventList") if isinstance(body, dict) else None
    return events if isinstance(events, list) else []


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def identifiers(event: dict[str, Any]) -> set[str]:
    """The EPCs and EPC classes an event names, to find captured events by identifier."""
    found = {epc for name in _EPC_LISTS for epc in _list(event.get(name)) if isinstance(epc, str)}
    found |= {q["epcClass"] for name in _QUANTITY_LISTS for q in _list(event.get(name))
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


def _storage_problems(events: list[Any]) -> Iterator[tuple[str, str]]:
    """What the schema lets through but the tables cannot hold: a time outside years 1 to 9999 in UTC, an
    identifier longer than its column."""
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            continue
        path = f"epcisBody.eventList[{index}]"
        if isinstance(event.get("eventTime"), str):
            try:
                _utc(event["eventTime"])
            except (ValueError, OverflowError):
                yield f"{path}.eventTime", "not a time that can be stored (years 1 to 9999 in UTC)"
        if isinstance(event.get("eventID"), str) and len(event["eventID"]) > MAX_IDENTIFIER_LENGTH:
            yield f"{path}.eventID", f"longer than {MAX_IDENTIFIER_LENGTH} characters"
        if any(len(uri) > MAX_IDENTIFIER_LENGTH for uri in identifiers(event)):
            yield path, f"names an EPC or EPC class longer than {MAX_IDENTIFIER_LENGTH} characters"


async def problems(session: AsyncSession, raw: bytes, checker: EpcisValidator, max_events: int) -> list[tuple[str, str]]:
    """Every problem of the document; checking a big one against the schema takes seconds of CPU, off the loop."""
    found, events = await asyncio.to_thread(_document_problems, raw, checker, max_events)
    return found + await _already_captured(session, events)


def _document_problems(raw: bytes, checker: EpcisValidator, max_events: int) -> tuple[list[tuple[str, str]], list]:
    try:
        document = parse_document(raw)
    except ValueError as exc:
        return [("body", str(exc))], []
    found = checker.errors(document)
    reported = {path for path, _ in found}
    if isinstance(document, dict) and document.get("type") != "EPCISDocument" and "type" not in reported:
        found.append(("type", "only an EPCISDocument is captured (its epcisBody.eventList)"))
    events = _events(document)
    found += list(_scope_problems(events, max_events))
    found += [problem for problem in _storage_problems(events) if problem[0] not in reported]
    return found, events


async def _already_captured(session: AsyncSession, events: list[Any]) -> list[tuple[str, str]]:
    """An eventID captured before is refused, so sending a document again cannot duplicate its events."""
    by_id = {e["eventID"]: i for i, e in enumerate(events) if isinstance(e, dict) and _storable_id(e.get("eventID"))}
    if not by_id:
        return []
    known = set((await session.exec(
        select(CapturedEvent.event_id).where(col(CapturedEvent.event_id).in_(list(by_id)))
    )).all())
    return [(f"epcisBody.eventList[{by_id[event_id]}].eventID", "already captured")
            for event_id in sorted(known, key=by_id.__getitem__)]


async def store(session: AsyncSession, raw: bytes, principal: Principal, now: datetime,
                capture_id: uuid.UUID | None = None) -> Capture:
    """Stores a document that ``problems`` found nothing wrong with, in one transaction (under ``capture_id``, the
    id of the job that captures it, when there is one)."""
    events = _events(parse_document(raw))
    capture = Capture(organization_id=principal.organization_id, actor=principal.subject, event_count=len(events),
                      captured_at=now, **({"id": capture_id} if capture_id else {}))
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
    await flush_or_conflict(session, "an event of this document was captured by a concurrent request")
    return capture


def _storable_id(event_id: Any) -> bool:
    """An eventID that can be looked up (the schema reports the others: a NUL is not in any URI)."""
    return isinstance(event_id, str) and len(event_id) <= MAX_IDENTIFIER_LENGTH and "\x00" not in event_id


def _utc(text: str) -> datetime:
    """RFC 3339 allows a lower-case ``t`` and ``z``, which ``fromisoformat`` does not read."""
    at = datetime.fromisoformat(text.upper())
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC)


def event_of(row: CapturedEvent) -> Any:
    return simplejson.loads(row.event_json, use_decimal=True)
