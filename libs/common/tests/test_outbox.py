"""The transactional outbox on a scratch schema: an event is written if and only if its transaction commits,
each organisation reads only its audience's events, and positions follow commit order, so that a reader following
the cursor sees every committed event exactly once, also while many writers commit at the same time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only
from sqlmodel import Field, select

from minka_common.db import Database, create_engine_for, service_base
from minka_common.events import event_tables, record_event
from minka_common.events.outbox import read_events
from minka_common.testing import fresh_database_url

OutboxModel = service_base("outbox")
tables = event_tables(OutboxModel.metadata)
ORG_A, ORG_B = str(uuid.uuid4()), str(uuid.uuid4())


class Thing(OutboxModel, table=True):
    __tablename__ = "things"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(unique=True)


@pytest.fixture(scope="module")
async def database(tmp_path_factory) -> AsyncIterator[Database]:
    database = Database(await fresh_database_url("common_outbox", tmp_path_factory.mktemp("outbox")))
    async with database.engine.begin() as connection:
        await connection.run_sync(OutboxModel.metadata.create_all)
    yield database
    await database.dispose()


async def last_position(database: Database) -> int:
    async with database.engine.connect() as connection:
        rows = await read_events(connection, tables, after=0, limit=1_000_000, organization_id=None)
    return rows[-1].position if rows else 0


async def written_after(database: Database, position: int, organization_id: str | None = None,
                        types: tuple[str, ...] = ()) -> list:
    async with database.engine.connect() as connection:
        return list(await read_events(connection, tables, after=position, limit=10_000, organization_id=organization_id,
                                      types=types))


async def make_thing(session, name: str, type: str = "thing.made", audience: tuple[str, ...] = (ORG_A,)) -> None:
    session.add(Thing(name=name))
    await session.flush()
    record_event(session, tables, type, f"thing:{name}", {"name": name}, audience=audience)


# --- written with the change, or not at all ----------------------------------------------------------------------


async def test_an_event_is_written_when_its_transaction_commits(database):
    start = await last_position(database)
    async with database.session() as session:
        await make_thing(session, "committed")
        assert await written_after(database, start) == []  # queued, not written before the commit
        await session.commit()
    [row] = await written_after(database, start)
    assert (row.type, row.subject, row.data) == ("thing.made", "thing:committed", {"name": "committed"})
    assert row.position > start and uuid.UUID(row.id) and row.occurred_at.tzinfo is not None


async def test_nothing_is_written_when_the_transaction_rolls_back_or_is_abandoned(database):
    start = await last_position(database)
    async with database.session() as session:
        await make_thing(session, "rolled back")
        await session.rollback()
        session.add(Thing(name="later, without an event"))
        await session.commit()
    async with database.session() as session:
        await make_thing(session, "abandoned")
    assert await written_after(database, start) == []


async def test_nothing_is_written_when_the_commit_fails_and_the_session_forgets_it(database):
    async with database.session() as session:
        await make_thing(session, "taken")
        await session.commit()
    start = await last_position(database)
    async with database.session() as session:
        await session.exec(select(Thing))
        session.add(Thing(name="taken"))  # flushed by the commit, which fails on the unique name
        record_event(session, tables, "thing.made", "thing:taken", {"name": "taken twice"}, audience=[ORG_A])
        with pytest.raises(IntegrityError):
            await session.commit()
        await session.rollback()
        assert await written_after(database, start) == []
        await make_thing(session, "after the failure")
        await session.commit()
    assert [row.data["name"] for row in await written_after(database, start)] == ["after the failure"]


async def test_an_event_outside_a_transaction_is_refused(database):
    async with database.session() as session:
        with pytest.raises(RuntimeError, match="outside a transaction"):
            record_event(session, tables, "thing.made", "thing:x", {}, audience=[ORG_A])


# --- audience and order ------------------------------------------------------------------------------------------


async def test_an_organisation_reads_only_the_events_of_its_audience(database):
    start = await last_position(database)
    async with database.session() as session:
        await make_thing(session, "for a", audience=(ORG_A,))
        await make_thing(session, "for b", "thing.changed", audience=(ORG_B,))
        await make_thing(session, "for both", audience=(ORG_A, ORG_B, ORG_A))
        await make_thing(session, "for nobody", audience=())
        await session.commit()

    def names(rows) -> list[str]:
        return [row.data["name"] for row in rows]

    assert names(await written_after(database, start)) == ["for a", "for b", "for both", "for nobody"]
    assert names(await written_after(database, start, ORG_A)) == ["for a", "for both"]
    assert names(await written_after(database, start, ORG_B)) == ["for b", "for both"]
    assert names(await written_after(database, start, str(uuid.uuid4()))) == []
    assert names(await written_after(database, start, types=("thing.changed",))) == ["for b"]
    assert names(await written_after(database, start, ORG_A, types=("thing.changed",))) == []


async def test_positions_follow_commit_order_not_the_order_events_were_recorded_in(database):
    start = await last_position(database)
    async with database.session() as early, database.session() as late:
        await early.exec(select(Thing).limit(1))  # a transaction that only reads so far
        record_event(early, tables, "thing.made", "thing:early", {"name": "recorded first"}, audience=[ORG_A])
        await make_thing(late, "recorded second")
        await late.commit()
        await early.commit()
    assert [row.data["name"] for row in await written_after(database, start)] == ["recorded second",
                                                                                  "recorded first"]


async def test_thousands_of_events_of_one_transaction_keep_the_order_they_were_recorded_in(database):
    """As a CSV import records them: written in batches, each with its audience, in the order recorded."""
    start = await last_position(database)
    count = 2500  # more than one multi-row INSERT
    async with database.session() as session:
        await session.exec(select(Thing).limit(1))
        for index in range(count):
            record_event(session, tables, "thing.made", f"thing:{index % 7}", {"index": index},
                         audience=[ORG_A] if index % 2 else [ORG_A, ORG_B])
        await session.commit()
    rows = await written_after(database, start)
    assert [row.data["index"] for row in rows] == list(range(count))
    assert [row.position for row in rows] == sorted(row.position for row in rows)
    assert len(await written_after(database, start, ORG_A)) == count
    assert [row.data["index"] for row in await written_after(database, start, ORG_B)] == list(range(0, count, 2))


async def test_rolling_back_a_savepoint_keeps_the_events_recorded_before_it(database):
    start = await last_position(database)
    async with database.session() as session:
        await make_thing(session, "before the savepoint")
        savepoint = await session.begin_nested()
        await make_thing(session, "inside the savepoint")
        await savepoint.rollback()
        await session.commit()
    assert [row.data["name"] for row in await written_after(database, start)] == ["before the savepoint"]


# --- a reader following the cursor while writers commit -----------------------------------------------------------


async def follow(engine: AsyncEngine, after: int) -> tuple[list[int], int]:
    """One poll of the feed, as the feed route does it: the positions after the cursor, and the new cursor."""
    async with engine.connect() as connection:
        rows = await read_events(connection, tables, after=after, limit=100, organization_id=None)
    positions = [row.position for row in rows]
    return positions, positions[-1] if positions else after


@pytest.fixture
def paused_after_event_insert(database):
    """Pauses the next transaction that writes an event row, between that insert and its commit: the moment
    a writer has its position but has not committed, when another writer could commit a later position."""
    paused, release = asyncio.Event(), asyncio.Event()
    armed = [True]

    def pause(connection, cursor, statement, parameters, context, executemany):
        if armed[0] and statement.lstrip().upper().startswith(f"INSERT INTO {tables.events.name.upper()} "):
            armed[0] = False
            paused.set()
            await_only(release.wait())  # this greenlet waits; the event loop runs the other writer and the reader

    event.listen(database.engine.sync_engine, "after_cursor_execute", pause)
    yield paused, release
    event.remove(database.engine.sync_engine, "after_cursor_execute", pause)


async def test_a_reader_never_skips_an_event_that_commits_after_a_later_one(database, paused_after_event_insert):
    paused, release = paused_after_event_insert
    start = await last_position(database)
    reader = create_engine_for(database.url)
    try:
        async with database.session() as first, database.session() as second:
            await make_thing(first, "holds its position")
            first_commit = asyncio.create_task(first.commit())
            await asyncio.wait_for(paused.wait(), 10)
            second_commit = asyncio.create_task(make_and_commit(second, "would come after it"))
            # With positions in commit order the second writer waits for the first one; without, it commits now
            # and a reader polling at this moment moves its cursor past the first writer's position.
            await asyncio.wait({second_commit}, timeout=0.5)
            seen, cursor = await follow(reader, start)
            release.set()
            await first_commit
            await second_commit
            more, cursor = await follow(reader, cursor)
        written = [row.position for row in await written_after(database, start)]
        assert len(written) == 2
        assert seen + more == written, "the reader skipped an event committed below its cursor"
    finally:
        release.set()
        await reader.dispose()


async def make_and_commit(session, name: str) -> None:
    await make_thing(session, name)
    await session.commit()


WRITERS, ROUNDS = 20, 5


async def test_many_concurrent_writers_and_a_polling_reader_agree_on_every_event(database):
    start = await last_position(database)
    reader = create_engine_for(database.url)
    done = asyncio.Event()
    seen: list[int] = []

    async def write(writer: int) -> None:
        for round in range(ROUNDS):
            async with database.session() as session:
                await make_thing(session, f"writer {writer} round {round}")
                await make_thing(session, f"writer {writer} round {round}, second event")
                await session.commit()
            await asyncio.sleep(0)

    async def read() -> None:
        cursor = start
        while True:
            finished = done.is_set()  # read once more after the last commit
            positions, cursor = await follow(reader, cursor)
            seen.extend(positions)
            if finished and not positions:
                return
            await asyncio.sleep(0.002)

    try:
        reading = asyncio.create_task(read())
        await asyncio.gather(*(write(writer) for writer in range(WRITERS)))
        done.set()
        await asyncio.wait_for(reading, 60)
    finally:
        await reader.dispose()
    written = [row.position for row in await written_after(database, start)]
    assert len(written) == WRITERS * ROUNDS * 2
    assert seen == written  # every committed event once, in position order, none skipped
