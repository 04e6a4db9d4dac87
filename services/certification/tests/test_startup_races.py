"""Replicas starting together on an empty database: the bundled example standards are published once, and no
replica fails on another's insert. The start-ups run at once (``asyncio.gather``), each on its own engine."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlmodel import select

from minka_certification.app import MIGRATIONS
from minka_certification.standards.document import StandardRef
from minka_certification.standards.models import PublishedStandard
from minka_certification.standards.service import example_documents, publish_examples
from minka_common.db import Database
from minka_common.migrations import upgrade_to_head_async
from minka_common.testing import fresh_database_url

REPLICAS = 4  # more than the two a Deployment runs, so that the race is met on every run, not one in two


async def replica_publishing_examples(url: str, connected: asyncio.Barrier) -> list[StandardRef]:
    database = Database(url)
    try:
        async with database.session() as session:
            await session.connection()
            await connected.wait()  # every replica is connected, so none is done before the others look
            return await publish_examples(session)
    finally:
        await database.dispose()


async def published_refs(url: str) -> Counter[str]:
    database = Database(url)
    try:
        async with database.session() as session:
            rows = (await session.exec(select(PublishedStandard))).all()
    finally:
        await database.dispose()
    return Counter(f"{row.code} {row.version}" for row in rows)


async def test_replicas_publishing_the_examples_at_once_publish_each_once(tmp_path):
    url = await fresh_database_url("certification_startup_race", tmp_path)
    await upgrade_to_head_async(MIGRATIONS, url)
    connected = asyncio.Barrier(REPLICAS)
    published = await asyncio.gather(*(replica_publishing_examples(url, connected) for _ in range(REPLICAS)))
    examples = Counter(str(document.ref) for document in example_documents())
    assert Counter(str(ref) for refs in published for ref in refs) == examples  # each by exactly one replica
    assert await published_refs(url) == examples
    again = await replica_publishing_examples(url, asyncio.Barrier(1))
    assert again == []
