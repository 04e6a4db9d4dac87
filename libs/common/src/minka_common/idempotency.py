"""``Idempotency-Key`` on writes: a retry with the same key and request gets the first answer; the same key with
another request is refused.

Keys are scoped to the authenticated caller. A key's outcome (status, headers, body) is stored in the same
database transaction as the write it answers (``minka_common.unit_of_work`` commits both at once), so after a
crash at any moment a retry finds either no outcome, because nothing was committed and the request runs now, or
the original answer: never a second effect. A refusal (4xx) changes nothing and is stored on its own.

While a request holds a key, a retry with that key is answered 409 with ``Retry-After``. The hold lasts as long
as the request's process runs it and ends with it, also when the process is killed, so a key whose request died
is free again at once: on PostgreSQL it is a transaction-level advisory lock of the request's transaction; on
SQLite a lock in the process plus a byte-range lock on a file beside the database, which the operating system
releases when the process ends (replicas of one SQLite database are processes on one machine).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fastapi import Request, Response
from sqlalchemy import (
    JSON,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.auth import request_principal
from minka_common.db import Database, UtcDateTime
from minka_common.errors import Conflict, Unprocessable
from minka_common.ids import utcnow

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"
RETRY_AFTER_SECONDS = 1
_NOT_REPLAYED_HEADERS = frozenset({"content-length", "date", "server"})


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("caller", String(255), nullable=False),
        Column("key", String(MAX_KEY_LENGTH), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("content_type", String(255), nullable=True),
        Column("headers", JSON, nullable=True),
        Column("body", LargeBinary, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        PrimaryKeyConstraint("caller", "key", name="pk_idempotency_keys"),
    )


@dataclass(frozen=True)
class KeyClaim:
    """A request holding its caller's key."""

    caller: str
    key: str
    fingerprint: str

    @property
    def lock_id(self) -> int:
        """A signed 64-bit number naming the key (PostgreSQL's advisory locks and the SQLite lock file's offsets)."""
        digest = hashlib.sha256(f"{self.caller}\0{self.key}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


class KeyInUse(Conflict):
    """A request with this key is running now."""

    def __init__(self, key: str) -> None:
        super().__init__(f"A request with Idempotency-Key {key!r} is still being processed; retry shortly.",
                         headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class KeyLocks(Protocol):
    async def acquire(self, session: AsyncSession, claim: KeyClaim) -> bool: ...

    def release(self, claim: KeyClaim) -> None: ...


class TransactionKeyLocks:
    """PostgreSQL: an advisory lock held by the request's transaction, released when it ends or its connection
    drops (a killed process's connection does)."""

    async def acquire(self, session: AsyncSession, claim: KeyClaim) -> bool:
        statement = text("SELECT pg_try_advisory_xact_lock(:id)")
        return bool((await session.exec(statement, params={"id": claim.lock_id})).scalar_one())  # type: ignore[call-overload]

    def release(self, claim: KeyClaim) -> None:
        """Released with the transaction."""


class ProcessKeyLocks:
    """SQLite: keys held in this process, and (for a database file) a one-byte lock per key on a lock file beside
    it, so that another process on the same database sees the key held. POSIX record locks belong to the process:
    the operating system drops them when it ends, however it ends."""

    def __init__(self, lock_file: Path | None) -> None:
        self.lock_file = lock_file
        self._descriptor: int | None = None
        self._held: set[tuple[str, str]] = set()
        self._offsets: Counter[int] = Counter()

    def _file(self) -> int:
        if self._descriptor is None:
            self._descriptor = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)  # type: ignore[arg-type]
        return self._descriptor

    @staticmethod
    def _offset(claim: KeyClaim) -> int:
        return claim.lock_id & 0x3FFF_FFFF_FFFF_FFFF  # a non-negative off_t

    async def acquire(self, session: AsyncSession, claim: KeyClaim) -> bool:
        identity = (claim.caller, claim.key)
        if identity in self._held:
            return False
        offset = self._offset(claim)
        if self.lock_file is not None and not self._offsets[offset]:
            try:
                fcntl.lockf(self._file(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
            except OSError:  # held by another process
                return False
        self._held.add(identity)
        self._offsets[offset] += 1
        return True

    def release(self, claim: KeyClaim) -> None:
        identity = (claim.caller, claim.key)
        if identity not in self._held:
            return
        self._held.discard(identity)
        offset = self._offset(claim)
        self._offsets[offset] -= 1
        if not self._offsets[offset]:
            del self._offsets[offset]
            if self.lock_file is not None:
                fcntl.lockf(self._file(), fcntl.LOCK_UN, 1, offset)


def key_locks_for(database: Database) -> KeyLocks:
    if database.dialect == "postgresql":
        return TransactionKeyLocks()
    path = make_url(database.url).database
    in_memory = not path or path == ":memory:" or path.startswith("file:")
    return ProcessKeyLocks(None if in_memory else Path(f"{path}.idempotency-locks"))


def request_fingerprint(request: Request, body: bytes) -> str:
    material = json.dumps(
        [request.method, request.url.path, str(request.url.query), request.headers.get("content-type", "")]
    ).encode()
    return hashlib.sha256(material + b"\0" + body).hexdigest()


class IdempotencyStore:
    def __init__(self, database: Database, table: Table) -> None:
        self.database, self.table = database, table
        self.locks = key_locks_for(database)

    async def claim(self, request: Request, session: AsyncSession, key: str) -> KeyClaim | Response:
        """Holds the caller's key for this request, or returns the stored answer of the request that used it.
        Raises 422 for a malformed key or one used for another request, 409 while another request holds it."""
        if not key or len(key) > MAX_KEY_LENGTH:
            raise Unprocessable(errors=[(HEADER, f"must be 1 to {MAX_KEY_LENGTH} characters")])
        principal = await request_principal(request)
        claim = KeyClaim(f"{principal.role.value}:{principal.subject}", key,
                         request_fingerprint(request, await request.body()))
        if (stored := await self.stored_answer(session, claim)) is not None:
            return stored
        if not await self.locks.acquire(session, claim):
            raise KeyInUse(key)
        if (stored := await self.stored_answer(session, claim)) is not None:  # its request ended just before
            self.locks.release(claim)
            return stored
        return claim

    def release(self, claim: KeyClaim) -> None:
        self.locks.release(claim)

    async def stored_answer(self, session: AsyncSession, claim: KeyClaim) -> Response | None:
        row = (await session.exec(select(self.table).where(  # type: ignore[call-overload]
            self.table.c.caller == claim.caller, self.table.c.key == claim.key))).one_or_none()
        if row is None:
            return None
        if row.fingerprint != claim.fingerprint:
            raise Unprocessable(
                f"Idempotency-Key {claim.key!r} was already used for a different request.",
                errors=[(HEADER, "reused with a different method, path or body")],
            )
        return Response(row.body, status_code=row.status_code, media_type=row.content_type,
                        headers={**(row.headers or {}), REPLAYED_HEADER: "true"})

    async def record(self, session: AsyncSession, claim: KeyClaim, response: Response) -> None:
        """Writes the answer in the session's transaction: it commits with the request's changes or not at all."""
        await session.exec(insert(self.table).values(_outcome(claim, response)))  # type: ignore[call-overload]

    async def record_refusal(self, claim: KeyClaim, response: Response) -> None:
        """Stores a refusal (nothing was written) on its own; a concurrent twin may have stored its own first."""
        try:
            async with self.database.transaction() as session:
                await self.record(session, claim, response)
        except IntegrityError:
            pass


def _outcome(claim: KeyClaim, response: Response) -> dict[str, Any]:
    headers = {name: value for name, value in response.headers.items()
               if name not in _NOT_REPLAYED_HEADERS and name != "content-type"}
    return {
        "caller": claim.caller, "key": claim.key, "fingerprint": claim.fingerprint,
        "status_code": response.status_code, "content_type": response.media_type or response.headers.get("content-type"),
        "headers": headers or None, "body": bytes(response.body), "created_at": utcnow(),
    }
