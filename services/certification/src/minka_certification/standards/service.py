"""The standards catalogue: publish a version once, read it many times.

Published versions never change, so parsed documents are cached per process by
(code, version) without any risk of serving a stale one.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_certification.standards.document import StandardDocument, StandardRef, document_problems
from minka_certification.standards.models import PublishedStandard
from minka_common.db import flush_or_conflict
from minka_common.errors import Conflict, FieldError, NotFound, Unprocessable

EXAMPLES = Path(__file__).parent / "examples"
EXAMPLE_FILES = ("minka-asm-1.0.json", "forest-smart-1.0.json")  # base before its bolt-on

_parsed: dict[StandardRef, StandardDocument] = {}


async def find_document(session: AsyncSession, ref: StandardRef) -> StandardDocument | None:
    if ref not in _parsed:
        row = await find_published(session, ref)
        if row is None:
            return None
        _parsed[ref] = StandardDocument.model_validate(row.document)
    return _parsed[ref]


async def get_document(session: AsyncSession, ref: StandardRef) -> StandardDocument:
    document = await find_document(session, ref)
    if document is None:
        raise NotFound(f"standard {ref} not found")
    return document


async def find_published(session: AsyncSession, ref: StandardRef) -> PublishedStandard | None:
    statement = select(PublishedStandard).where(
        PublishedStandard.code == ref.code, PublishedStandard.version == ref.version
    )
    return (await session.exec(statement)).one_or_none()


async def _equivalence_targets(session: AsyncSession, document: StandardDocument) -> dict[StandardRef, StandardDocument]:
    targets = {}
    for equivalence in document.equivalences:
        found = await find_document(session, equivalence.standard)
        if found is not None:
            targets[equivalence.standard] = found
    return targets


async def publish(session: AsyncSession, document: StandardDocument, actor: str) -> PublishedStandard:
    """Validates the whole document (every problem at once) and publishes it as a new, immutable version."""
    if await find_published(session, document.ref) is not None:
        raise Conflict(f"{document.ref} is already published; published versions never change, publish a new version")
    base = await find_document(session, document.base) if document.base else None
    problems = document_problems(document, base, await _equivalence_targets(session, document))
    if problems:
        raise Unprocessable(
            f"the standard document has {len(problems)} problem(s)",
            errors=[FieldError(field=p.field, reason=p.reason) for p in problems],
        )
    row = PublishedStandard(
        code=document.code, version=document.version, kind=document.kind, title=document.title,
        document=document.model_dump(mode="json", exclude_none=True), published_by=actor,
    )
    session.add(row)
    await flush_or_conflict(session, f"{document.ref} was published at the same moment by another request")
    return row


def example_documents() -> list[StandardDocument]:
    return [StandardDocument.model_validate_json((EXAMPLES / name).read_text()) for name in EXAMPLE_FILES]


async def publish_examples(session: AsyncSession) -> list[StandardRef]:
    """Publishes the bundled example standards that are not in the catalogue yet; returns those published."""
    published = []
    for document in example_documents():
        if await find_published(session, document.ref) is None:
            try:
                await publish(session, document, actor="system:examples")
                await session.commit()
            except Conflict:
                continue  # another replica published it first
            published.append(document.ref)
    return published
