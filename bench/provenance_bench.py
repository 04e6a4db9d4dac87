"""Provenance benchmark: does a lot's provenance cost follow its own graph, or the size of the database?

    make bench                                                      # SQLite, in a temporary directory
    .venv/bin/python bench/provenance_bench.py --small              # 1,000 / 20,000 lots: checks the script works
    MINKA_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python bench/provenance_bench.py --explain         # PostgreSQL, with the query plans

Two databases are built side by side, with the same rows for one target lot's ancestry:

* **ancestry only**: a bullion lot whose upstream graph has 10,000 lots (itself included): origin lots merged
  into cooperative batches, processed into concentrate, shipped to traders who merge them, split each merge and
  merge the parts again (a diamond, so the walk's ``UNION`` must visit the split lot once), then refinery
  batches, doré and the bullion: ten steps from the target to its origin lots;
* **ancestry + unrelated**: the same, plus 200,000 unrelated lots with their own events, in separate trees of
  the same shape, created at interleaved times (ids are time-ordered UUIDv7, as the service makes them, and
  rows are inserted in time order) so the ancestry is not conveniently packed together on disk.

The target's provenance is then read ``REPEATS`` times in each (after warm-ups, alternating between the two
databases so that a busy moment on the machine falls on both alike), three ways:

* ``SQL alone``: the three statements ``load_graph`` sends (captured from it, one recursive walk each), their
  rows fetched as plain tuples: the database's share;
* ``load_graph``: ``minka_traceability.graph.load_graph(session, lot, Direction.upstream)``, those statements
  and the ORM objects, which is what ``GET /v1/lots/{id}/provenance`` calls;
* ``GET provenance``: the whole endpoint through the in-process app (``create_app``) with a signed token of a
  buyer holding the target: the visibility walk, ``load_graph`` and the JSON body of 10,000 lots.

The ratio of the medians (with unrelated / ancestry only) is the claim under test: near 1 when each step of
the walk is an index lookup, towards 21 (the growth of the tables) if a step scanned them. Every run checks
that the graph has exactly the ancestry's lots, events and event rows, so a good ratio cannot come from a
wrong answer. ``--explain`` prints the plans (PostgreSQL: ``EXPLAIN (ANALYZE, BUFFERS)``).

The rows are written with bulk inserts into ``lots``, ``custody_events``, ``event_lots`` and ``lot_holders``
(building 210,000 lots through the API would take hours); the schema comes from the service's migrations.
On PostgreSQL the tables get ``VACUUM ANALYZE`` after loading, as autovacuum would soon do; SQLite is left as
the service leaves it (no statistics).

Databases: SQLite files in a temporary directory by default. When ``MINKA_BENCH_DATABASE_URL`` (or, failing
that, ``MINKA_TEST_DATABASE_URL``, which ``registry_bench.py`` reads) names a PostgreSQL database, the two
databases ``<name>_provenance_ancestry`` and ``<name>_provenance_unrelated`` are dropped and created next to it
by ``minka_common.testing.fresh_database_url``, and left behind for inspection.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import heapq
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from minka_common.auth import InProcessKeySet
from minka_common.db import Database
from minka_common.migrations import upgrade_to_head_async
from minka_common.testing import TEST_DATABASE_ENV, fresh_database_url, running
from minka_traceability.app import MIGRATIONS, create_app
from minka_traceability.graph import Direction, load_graph
from minka_traceability.lots.models import CustodyEvent, EventLot, Lot, LotHolder
from minka_traceability.settings import TraceabilitySettings

BENCH_DATABASE_ENV = "MINKA_BENCH_DATABASE_URL"
FULL_SIZE = (10_000, 200_000)  # lots in the target's ancestry, unrelated lots
SMALL_SIZE = (1_000, 20_000)
UNRELATED_TREE_LOTS = 1_000
REPEATS, WARM_UPS = 20, 2
CHUNK_OPS = 2_000

TABLES = {"lots": Lot.__table__, "custody_events": CustodyEvent.__table__,  # type: ignore[attr-defined]
          "event_lots": EventLot.__table__, "lot_holders": LotHolder.__table__}  # type: ignore[attr-defined]
START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=365)
STANDARDS = [{"code": "MINKA-GOLD", "version": "1.0"}]


# --- the rows ----------------------------------------------------------------------------------------------------


@dataclass
class Op:
    """One custody event with the rows it writes: the lots it makes, its event rows, the new holders."""

    at: datetime
    event: dict[str, Any]
    lots: list[dict[str, Any]] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)
    holders: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Orgs:
    cooperatives: list[uuid.UUID]
    traders: list[uuid.UUID]
    refiners: list[uuid.UUID]


def uuid7(rng: random.Random, at: datetime) -> uuid.UUID:
    """A version 7 id for a moment of the simulated timeline, like ``minka_common.ids.new_id`` makes now."""
    value = (int(at.timestamp() * 1000) & 0xFFFF_FFFF_FFFF) << 80 | rng.getrandbits(80)
    value = value & ~(0xF << 76) | (0x7 << 76)
    return uuid.UUID(int=value & ~(0x3 << 62) | (0x2 << 62))


class ChainBuilder:
    """Writes the rows the custody service would write for create, ship, merge, split and transform.

    Lots are dicts, changed in place (consumed, shipped) until the ops are inserted."""

    def __init__(self, rng: random.Random, code_prefix: str, start: datetime, step: timedelta) -> None:
        self.rng, self.code_prefix, self.clock, self.step = rng, code_prefix, start, step
        self.ops: list[Op] = []
        self.lot_count = 0

    def _tick(self) -> datetime:
        self.clock += self.step
        return self.clock

    def _lot(self, at: datetime, mass_kg: Decimal, form: str, custodian: uuid.UUID, **origin: Any) -> dict[str, Any]:
        self.lot_count += 1
        return {
            "id": uuid7(self.rng, at), "code": f"{self.code_prefix}-{self.lot_count:010d}", "commodity": "gold",
            "form": form, "mass_kg": mass_kg, "chain_of_custody": "segregated", "status": "active",
            "custodian_id": custodian, "version": 1, "tier": "good", "standards": STANDARDS, "forest_smart": True,
            "mercury_free": True, "certified_mass_kg": mass_kg, "site_id": None, "cooperative_id": None,
            "miner_id": None, "produced_on": None, "origin_country": None, "certificate_number": None,
            "coverage": None, "created_at": at, "updated_at": at, **origin,
        }

    def _record(self, kind: str, at: datetime, org: uuid.UUID, parts: Sequence[tuple[str, dict[str, Any], Decimal]],
                made: Sequence[dict[str, Any]] = (), loss_kg: Decimal = Decimal(0), **details: Any) -> Op:
        event_id = uuid7(self.rng, at)
        op = Op(at, {"id": event_id, "kind": kind, "at": at, "actor": "bench", "organization_id": org,
                     "place": None, "idempotency_key": None, "loss_kg": loss_kg, "details": details})
        op.lots = list(made)
        op.parts = [{"event_id": event_id, "role": role, "lot_id": lot["id"], "mass_kg": mass_kg}
                    for role, lot, mass_kg in parts]
        op.holders = [{"organization_id": org, "lot_id": lot["id"], "since": at} for lot in made]
        self.ops.append(op)
        return op

    def _consume(self, lots: Iterable[dict[str, Any]], at: datetime) -> None:
        for lot in lots:
            lot.update(status="consumed", version=lot["version"] + 1, updated_at=at)

    def origin(self, cooperative: uuid.UUID, site: uuid.UUID) -> dict[str, Any]:
        at = self._tick()
        mass_kg = Decimal(self.rng.randrange(2_000, 20_000)) / 1000
        coverage = {"cooperative_id": str(cooperative), "member_id": None, "on": at.date().isoformat(),
                    "covered": True, "tier": "good", "standards": STANDARDS, "forest_smart": True,
                    "certificate_number": "MK-0001", "certification_status": "active", "reason": None}
        lot = self._lot(at, mass_kg, "ore", cooperative, site_id=site, cooperative_id=cooperative,
                        produced_on=at.date(), origin_country="CD", certificate_number="MK-0001", coverage=coverage)
        self._record("create", at, cooperative, [("output", lot, mass_kg)], [lot], site_id=str(site))
        return lot

    def ship(self, lot: dict[str, Any], receiver: uuid.UUID) -> dict[str, Any]:
        """Dispatch and receive: two events on the lot (role ``subject``); the receiver holds it from then on."""
        sender = lot["custodian_id"]
        self._record("dispatch", self._tick(), sender, [("subject", lot, lot["mass_kg"])], to=str(receiver))
        at = self._tick()
        received = self._record("receive", at, receiver, [("subject", lot, lot["mass_kg"])])
        received.holders = [{"organization_id": receiver, "lot_id": lot["id"], "since": at}]
        lot.update(custodian_id=receiver, version=lot["version"] + 2, updated_at=at)
        return lot

    def merge(self, lots: Sequence[dict[str, Any]], form: str | None = None) -> dict[str, Any]:
        at, org = self._tick(), lots[0]["custodian_id"]
        total_kg = sum((lot["mass_kg"] for lot in lots), Decimal(0))
        output = self._lot(at, total_kg, form or lots[0]["form"], org)
        self._consume(lots, at)
        parts = [*(("input", lot, lot["mass_kg"]) for lot in lots), ("output", output, total_kg)]
        self._record("merge", at, org, parts, [output])
        return output

    def transform(self, lot: dict[str, Any], form: str, process: str) -> dict[str, Any]:
        at, org = self._tick(), lot["custodian_id"]
        output_kg = (lot["mass_kg"] * Decimal("0.9")).quantize(Decimal("0.001"))
        output = self._lot(at, output_kg, form, org)
        self._consume([lot], at)
        self._record("transform", at, org, [("input", lot, lot["mass_kg"]), ("output", output, output_kg)],
                     [output], loss_kg=lot["mass_kg"] - output_kg, process=process, output_form=form)
        return output

    def split(self, lot: dict[str, Any], parts: int) -> list[dict[str, Any]]:
        at, org = self._tick(), lot["custodian_id"]
        share = (lot["mass_kg"] / parts).quantize(Decimal("0.001"))
        masses = [share] * (parts - 1) + [lot["mass_kg"] - share * (parts - 1)]
        outputs = [self._lot(at, mass_kg, lot["form"], org) for mass_kg in masses]
        self._consume([lot], at)
        self._record("split", at, org, [("input", lot, lot["mass_kg"]),
                                        *(("output", out, out["mass_kg"]) for out in outputs)], outputs)
        return outputs


# --- the shape of one supply tree --------------------------------------------------------------------------------

ORIGINS_PER_BATCH, BATCHES_PER_TRADER_LOT, TRADER_LOTS_PER_REFINERY_BATCH = 8, 5, 4
BATCH_LOTS = ORIGINS_PER_BATCH + 2  # the origin lots, their merge, the concentrate
TRADER_LOTS = BATCHES_PER_TRADER_LOT * BATCH_LOTS + 5  # the batches, their merge, two parts, one dried, rejoined
REFINERY_BATCH_LOTS = TRADER_LOTS_PER_REFINERY_BATCH * TRADER_LOTS + 2  # the trader lots, their merge, the doré


class SupplyTree:
    """Builds a target lot with exactly ``size`` lots upstream of it (itself included)."""

    def __init__(self, builder: ChainBuilder, orgs: Orgs, refiner: uuid.UUID) -> None:
        self.builder, self.orgs, self.refiner = builder, orgs, refiner

    def _pick(self, choices: list[uuid.UUID]) -> uuid.UUID:
        return self.builder.rng.choice(choices)

    def _origins(self, count: int) -> list[dict[str, Any]]:
        cooperative = self._pick(self.orgs.cooperatives)
        site = uuid.UUID(int=cooperative.int ^ 1)  # one site per cooperative is enough here
        return [self.builder.origin(cooperative, site) for _ in range(count)]

    def cooperative_batch(self, trader: uuid.UUID) -> dict[str, Any]:
        batch = self.builder.merge(self._origins(ORIGINS_PER_BATCH))
        return self.builder.ship(self.builder.transform(batch, "concentrate", "flotation"), trader)

    def trader_lot(self) -> dict[str, Any]:
        """A trader's merge, split in two; one part is dried and the two are merged again: a diamond."""
        trader, b = self._pick(self.orgs.traders), self.builder
        merged = b.merge([self.cooperative_batch(trader) for _ in range(BATCHES_PER_TRADER_LOT)])
        first, second = b.split(merged, 2)
        rejoined = b.merge([b.transform(first, "concentrate", "drying"), second])
        return b.ship(rejoined, self.refiner)

    def refinery_batch(self) -> dict[str, Any]:
        merged = self.builder.merge([self.trader_lot() for _ in range(TRADER_LOTS_PER_REFINERY_BATCH)])
        return self.builder.transform(merged, "dore", "smelting")

    def remainder(self, lots: int) -> list[dict[str, Any]]:
        """``lots`` more lots: origin lots shipped straight to the refiner (merged first when more than two)."""
        if lots == 0:
            return []
        if lots <= 2:
            return [self.builder.ship(lot, self.refiner) for lot in self._origins(lots)]
        return [self.builder.ship(self.builder.merge(self._origins(lots - 1)), self.refiner)]

    def build(self, size: int) -> dict[str, Any]:
        first_lot = self.builder.lot_count
        batches, rest = divmod(size - 2, REFINERY_BATCH_LOTS)  # 2: the final merge and the bullion
        inputs = [self.refinery_batch() for _ in range(batches)] + self.remainder(rest)
        assert len(inputs) >= 2, f"a tree of {size} lots is too small for this shape"
        target = self.builder.transform(self.builder.merge(inputs, "dore"), "bullion", "refining")
        assert self.builder.lot_count - first_lot == size
        return target


def organizations(rng: random.Random) -> Orgs:
    def ids(count: int) -> list[uuid.UUID]:
        return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(count)]

    return Orgs(cooperatives=ids(300), traders=ids(40), refiners=ids(8))


def ancestry(size: int, orgs: Orgs, rng: random.Random) -> tuple[dict[str, Any], list[Op]]:
    """The target lot and the ops that make its ancestry, spread over the whole timeline."""
    builder = ChainBuilder(rng, "ANC", START, SPAN / (2 * size))
    target = SupplyTree(builder, orgs, orgs.refiners[0]).build(size)
    return target, builder.ops


def unrelated(lots: int, orgs: Orgs, rng: random.Random) -> Iterator[Op]:
    """Trees of ``UNRELATED_TREE_LOTS`` lots one after the other on the timeline, each built when reached."""
    trees = max(1, lots // UNRELATED_TREE_LOTS)
    window = SPAN / trees
    for number in range(trees):
        size = UNRELATED_TREE_LOTS if number < trees - 1 else lots - UNRELATED_TREE_LOTS * (trees - 1)
        builder = ChainBuilder(rng, f"U{number:03d}", START + window * number, window / (2 * size))
        SupplyTree(builder, orgs, rng.choice(orgs.refiners)).build(size)
        yield from builder.ops


# --- the databases -----------------------------------------------------------------------------------------------


async def database_url(name: str, sqlite_dir: Path) -> str:
    bench_base = os.environ.get(BENCH_DATABASE_ENV)
    if bench_base:
        os.environ[TEST_DATABASE_ENV] = bench_base  # fresh_database_url creates databases next to this one
    return await fresh_database_url(name, sqlite_dir)


def chunks(ops: Iterable[Op], size: int) -> Iterator[list[Op]]:
    chunk: list[Op] = []
    for op in ops:
        chunk.append(op)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def insert_ops(engine: AsyncEngine, ops: Iterable[Op]) -> None:
    """One transaction; in each chunk the lots go first, so every event row finds its lot."""
    async with engine.begin() as connection:
        for chunk in chunks(ops, CHUNK_OPS):
            rows = {
                "lots": [lot for op in chunk for lot in op.lots],
                "custody_events": [op.event for op in chunk],
                "event_lots": [part for op in chunk for part in op.parts],
                "lot_holders": [holder for op in chunk for holder in op.holders],
            }
            for name, table in TABLES.items():
                if rows[name]:
                    await connection.execute(insert(table), rows[name])


async def settle(engine: AsyncEngine) -> None:
    """On PostgreSQL, what autovacuum soon does after a bulk load: statistics for the planner, and the
    visibility map that lets index-only scans skip the table. SQLite is left as the service leaves it."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for name in TABLES:
            await autocommit.exec_driver_sql(f"VACUUM ANALYZE {name}")


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
                for name, table in TABLES.items()}


# --- the measurement ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """What the target's provenance must contain: its ancestry, exactly."""

    lots: int
    events: int
    parts: int

    @classmethod
    def of(cls, ops: list[Op]) -> Expected:
        return cls(sum(len(op.lots) for op in ops), len(ops), sum(len(op.parts) for op in ops))


class Issuer:
    """Signs the bench's own tokens; the app verifies them with the matching in-process key set."""

    def __init__(self, settings: TraceabilitySettings) -> None:
        self.settings = settings
        self.key = RSAKey.generate_key(2048, parameters={"kid": "bench"})
        self.key_set = KeySet([RSAKey.import_key(self.key.as_dict(private=False))])

    def headers(self, role: str, organization_id: uuid.UUID) -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": self.settings.auth_issuer, "aud": self.settings.auth_audience, "sub": "bench",
                  "role": role, "org": str(organization_id), "iat": now, "exp": now + 6 * 3600}
        return {"Authorization": f"Bearer {jwt.encode({'alg': 'RS256', 'kid': 'bench'}, claims, self.key)}"}


@contextmanager
def captured_statements(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL (and its parameters, as sent to the driver) that the engine runs inside the block."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@dataclass
class Running:
    """One database's app, a client on it, and the statements ``load_graph`` sends for the target."""

    app: FastAPI
    client: httpx.AsyncClient
    statements: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def engine(self) -> AsyncEngine:
        return self.app.state.database.engine

    async def capture_statements(self, lot_id: uuid.UUID) -> None:
        with captured_statements(self.engine) as self.statements:
            async with self.app.state.database.session() as session:
                await load_graph(session, lot_id, Direction.upstream)

    async def sql(self, lot_id: uuid.UUID, expected: Expected) -> float:
        """The database's share: the same statements, their rows fetched as tuples, no ORM objects."""
        async with self.engine.connect() as connection:
            started = time.perf_counter()
            counts = [len((await connection.exec_driver_sql(statement, parameters)).all())
                      for statement, parameters in self.statements]
            elapsed = time.perf_counter() - started
        assert counts == [expected.lots, expected.events, expected.parts], f"the statements found {counts}"
        return elapsed

    async def load_graph(self, lot_id: uuid.UUID, expected: Expected) -> float:
        async with self.app.state.database.session() as session:
            started = time.perf_counter()
            graph = await load_graph(session, lot_id, Direction.upstream)
            elapsed = time.perf_counter() - started
        found = Expected(len(graph.lots), len(graph.events), sum(len(graph.parts_of(e.id)) for e in graph.events))
        assert found == expected, f"load_graph found {found}, expected {expected}"
        return elapsed

    async def endpoint(self, lot_id: uuid.UUID, expected: Expected, headers: dict[str, str]) -> float:
        started = time.perf_counter()
        response = await self.client.get(f"/v1/lots/{lot_id}/provenance", headers=headers)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, f"{response.status_code} {response.text[:300]}"
        body = response.json()
        found = (len(body["lots"]), len(body["events"]))
        assert found == (expected.lots, expected.events), f"the endpoint found {found}, expected {expected}"
        return elapsed

    async def explain(self) -> None:
        """EXPLAIN ANALYZE of each statement on PostgreSQL, the query plan on SQLite."""
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if self.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        async with self.engine.connect() as connection:
            for number, (statement, parameters) in enumerate(self.statements, 1):
                rows = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
                print(f"\n-- statement {number} of load_graph:\n{statement}\n-- plan:")
                print("\n".join(" | ".join(str(value) for value in row) for row in rows))


# --- the runs ----------------------------------------------------------------------------------------------------

MEASURES = {
    "sql": "SQL alone (3 statements)",
    "load_graph": "load_graph (SQL + ORM)",
    "endpoint": "GET /v1/lots/{id}/provenance",
}


@dataclass
class Side:
    """One of the two databases and what was measured on it."""

    label: str
    url: str
    build_seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in MEASURES})


async def build(url: str, ops: Iterable[Op]) -> float:
    await upgrade_to_head_async(MIGRATIONS, url)
    database = Database(url)
    started = time.perf_counter()
    await insert_ops(database.engine, ops)
    await settle(database.engine)
    elapsed = time.perf_counter() - started
    await database.dispose()
    return elapsed


@asynccontextmanager
async def service_at(url: str, issuer: Issuer) -> AsyncIterator[Running]:
    settings = TraceabilitySettings(database_url=url, migrate_on_start=True, claim_recheck_interval_seconds=0)
    app = create_app(settings, key_set=InProcessKeySet(lambda: issuer.key_set))
    async with running(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600
    ) as client:
        yield Running(app, client)


async def measure(sides: list[Side], target: dict[str, Any], expected: Expected, show_plans: bool) -> None:
    """Runs alternate between the databases, so a busy moment on the machine falls on both alike."""
    issuer = Issuer(TraceabilitySettings())
    buyer = issuer.headers("buyer", target["custodian_id"])
    async with AsyncExitStack() as stack:
        apps = [await stack.enter_async_context(service_at(side.url, issuer)) for side in sides]
        for side, app in zip(sides, apps, strict=True):
            side.rows = await row_counts(app.engine)
            await app.capture_statements(target["id"])
        for run in range(WARM_UPS + REPEATS):
            for side, app in zip(sides, apps, strict=True):
                for name in MEASURES:
                    gc.collect()
                    arguments = (target["id"], expected, buyer) if name == "endpoint" else (target["id"], expected)
                    seconds = await getattr(app, name)(*arguments)
                    if run >= WARM_UPS:
                        side.samples[name].append(seconds)
        if show_plans:
            for side, app in zip(sides, apps, strict=True):
                print(f"\n==== query plans, {side.label} ====")
                await app.explain()


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def report(dialect: str, sizes: tuple[int, int], alone: Side, crowded: Side) -> None:
    print(f"\ndatabase: {dialect}; a target lot with {sizes[0]:,} lots upstream; "
          f"{REPEATS} runs after {WARM_UPS} warm-ups, alternating between the databases")
    print(f"  {'':<30}{'lots':>10}{'events':>10}{'event_lots':>12}{'holders':>10}{'build s':>10}")
    for side in (alone, crowded):
        rows = side.rows
        print(f"  {side.label:<30}{rows['lots']:>10,}{rows['custody_events']:>10,}{rows['event_lots']:>12,}"
              f"{rows['lot_holders']:>10,}{side.build_seconds:>10.1f}")
    print(f"\n  {'provenance, ms':<30}{alone.label:^20}{crowded.label:^22}{'ratio':>10}")
    print(f"  {'':<30}{'median':>10}{'p95':>10}{'median':>12}{'p95':>10}{'(median)':>10}")
    for name, title in MEASURES.items():
        a, b = alone.samples[name], crowded.samples[name]
        ratio = statistics.median(b) / statistics.median(a)
        print(f"  {title:<30}{statistics.median(a) * 1000:>10.1f}{p95(a) * 1000:>10.1f}"
              f"{statistics.median(b) * 1000:>12.1f}{p95(b) * 1000:>10.1f}{ratio:>10.2f}")


async def main(small: bool, show_plans: bool) -> None:
    sizes = SMALL_SIZE if small else FULL_SIZE
    rng = random.Random(20240101)
    orgs = organizations(rng)
    target, ancestry_ops = ancestry(sizes[0], orgs, rng)
    expected = Expected.of(ancestry_ops)
    with tempfile.TemporaryDirectory() as data_dir:
        alone = Side("ancestry only", await database_url("provenance_ancestry", Path(data_dir)))
        crowded = Side(f"+ {sizes[1]:,} unrelated", await database_url("provenance_unrelated", Path(data_dir)))
        dialect = alone.url.split("://")[0]
        print(f"building {dialect}: {sizes[0]:,} lots of ancestry, then the same among {sizes[1]:,} unrelated lots")
        alone.build_seconds = await build(alone.url, ancestry_ops)
        mixed = heapq.merge(ancestry_ops, unrelated(sizes[1], orgs, rng), key=lambda op: op.at)
        crowded.build_seconds = await build(crowded.url, mixed)
        await measure([alone, crowded], target, expected, show_plans)
    report(dialect, sizes, alone, crowded)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help=f"{SMALL_SIZE[0]:,} / {SMALL_SIZE[1]:,} lots")
    parser.add_argument("--explain", action="store_true", help="print the plans of the provenance queries")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.small, arguments.explain))
