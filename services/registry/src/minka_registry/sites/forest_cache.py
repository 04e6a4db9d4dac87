"""One process-wide ForestIndex per database, rebuilt lazily when the set of forest layers changes.

Before the cached index is used, a cheap fingerprint of the layers — ``(count(*), max(id))``
of ``forest_layers`` — is read from the database. Layers are only ever added (ids are
time-ordered UUIDs) and a deleted layer lowers the count, so any change to the set of
layers changes the fingerprint; a replica whose cache is stale sees that and rebuilds,
which keeps several replicas sharing one database correct.

Consistency between the fingerprint and the polygons read comes from ``lock_forest``: every
caller holds it for its transaction (shared for site writes, exclusive for layer uploads), so
no layer can be committed between reading the fingerprint and reading the polygons.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import String, Text, cast, func, text, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_registry.sites.forest import ForestIndex
from minka_registry.sites.models import ForestLayer, ForestPolygon

Fingerprint = tuple[int, str | None]

# Any constant works; it only has to be the same in every replica.
_ADVISORY_LOCK_KEY = 0x4D494E4B41_0001  # "MINKA", forest layers


async def lock_forest(session: AsyncSession, *, exclusive: bool) -> None:
    """Hold, until the transaction ends, the lock that orders forest-layer uploads and distance computations.

    PostgreSQL: a transaction-scoped advisory lock (shared for site writes, exclusive for uploads).
    SQLite: the database write lock (SQLite has one writer at a time), taken by a no-op UPDATE.
    """
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if dialect == "postgresql":
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        statement = text(f"SELECT {function}(:key)").bindparams(key=_ADVISORY_LOCK_KEY)
        await session.exec(statement)  # type: ignore[call-overload]
    else:
        table = ForestLayer.__table__  # type: ignore[attr-defined]
        await session.exec(update(table).where(table.c.id.is_(None)).values(feature_count=0))


async def read_fingerprint(session: AsyncSession) -> Fingerprint:
    # max() of the id as text: PostgreSQL has no max(uuid); for both, text order is id order.
    statement = select(func.count(ForestLayer.id), func.max(cast(ForestLayer.id, String)))
    count, newest = (await session.exec(statement)).one()
    return int(count), None if newest is None else str(newest)


def polygons_from_geojson(documents: Sequence[str]) -> np.ndarray:
    """2D shapely geometries from GeoJSON geometry texts (vectorised; much faster than ``shape()`` per dict).

    Altitudes are dropped: distances are horizontal, and a ring mixing 2- and 3-number positions is valid GeoJSON.
    """
    if not documents:
        return np.array([], dtype=object)
    return shapely.force_2d(shapely.from_geojson(np.array(documents, dtype=object)))


@dataclass(frozen=True)
class ForestSnapshot:
    fingerprint: Fingerprint
    polygons: np.ndarray
    index: ForestIndex

    @classmethod
    def of(cls, fingerprint: Fingerprint, polygons: np.ndarray) -> ForestSnapshot:
        return cls(fingerprint, polygons, ForestIndex(polygons))

    def extended(self, fingerprint: Fingerprint, polygons: np.ndarray) -> ForestSnapshot:
        return ForestSnapshot.of(fingerprint, np.concatenate([self.polygons, polygons]))


_EMPTY = ForestSnapshot.of((0, None), np.array([], dtype=object))


class ForestIndexCache:
    def __init__(self) -> None:
        self._snapshots: dict[str, ForestSnapshot] = {}
        # asyncio locks belong to one event loop; one per loop and database avoids duplicate rebuilds.
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
            weakref.WeakKeyDictionary()
        )

    @staticmethod
    def key(session: AsyncSession) -> str:
        assert session.bind is not None
        return session.bind.url.render_as_string(hide_password=True)

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(asyncio.get_running_loop(), {}).setdefault(key, asyncio.Lock())

    async def snapshot(self, session: AsyncSession) -> ForestSnapshot:
        """The forest index for the layers committed now. The caller must hold ``lock_forest``."""
        key = self.key(session)
        fingerprint = await read_fingerprint(session)
        if fingerprint[0] == 0:
            return _EMPTY
        cached = self._snapshots.get(key)
        if cached is not None and cached.fingerprint == fingerprint:
            return cached
        async with self._lock(key):
            cached = self._snapshots.get(key)
            if cached is not None and cached.fingerprint == fingerprint:
                return cached
            documents = (await session.exec(select(cast(ForestPolygon.geometry, Text)))).all()
            snapshot = await asyncio.to_thread(lambda: ForestSnapshot.of(fingerprint, polygons_from_geojson(documents)))
            self._snapshots[key] = snapshot
            return snapshot

    def store(self, session: AsyncSession, snapshot: ForestSnapshot) -> None:
        """Remember a snapshot built by a committed upload, so the uploader's replica need not rebuild."""
        self._snapshots[self.key(session)] = snapshot

    def clear(self) -> None:
        self._snapshots.clear()


forest_indexes = ForestIndexCache()
"""The process-wide cache: one entry per database."""
