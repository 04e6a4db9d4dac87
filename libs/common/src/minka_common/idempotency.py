"""``Idempotency-Key`` on POST: a replay returns the stored response; the same key with another body is refused.

Keys are scoped to the authenticated caller. The first request claims the key
(a pending row) before the handler runs, so a concurrent duplicate gets 409
instead of running twice; a 5xx or a crash releases the key so the client can
retry. A claim left pending longer than ``STALE_AFTER`` (a process died
mid-request) may be taken over.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from minka_common.db import Database, UtcDateTime
from minka_common.errors import Conflict, ProblemError, Unauthorized, Unprocessable, problem_response
from minka_common.ids import utcnow

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
STALE_AFTER = timedelta(minutes=5)
REPLAYED_HEADER = "Idempotent-Replayed"


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("caller", String(255), nullable=False),
        Column("key", String(MAX_KEY_LENGTH), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("content_type", String(255), nullable=True),
        Column("body", LargeBinary, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        PrimaryKeyConstraint("caller", "key", name="pk_idempotency_keys"),
    )


class IdempotencyStore:
    def __init__(self, database: Database, table: Table) -> None:
        self.database, self.table = database, table

    async def claim(self, caller: str, key: str, fingerprint: str) -> Response | None:
        """Claim the key, or return the stored response of the first request; raises on a mismatch."""
        async with self.database.engine.begin() as connection:
            try:
                await connection.execute(
                    insert(self.table).values(caller=caller, key=key, fingerprint=fingerprint, created_at=utcnow())
                )
                return None
            except IntegrityError:
                pass
        async with self.database.engine.begin() as connection:
            row = (
                await connection.execute(select(self.table).where(*self._identity(caller, key)))
            ).one_or_none()
            if row is None:  # released in between: try once more
                return await self.claim(caller, key, fingerprint)
            if row.fingerprint != fingerprint:
                raise Unprocessable(
                    f"Idempotency-Key {key!r} was already used for a different request.",
                    errors=[(HEADER, "reused with a different method, path or body")],
                )
            if row.status_code is not None:
                return Response(
                    row.body, status_code=row.status_code, media_type=row.content_type, headers={REPLAYED_HEADER: "true"}
                )
            if row.created_at < utcnow() - STALE_AFTER:
                await connection.execute(
                    update(self.table).where(*self._identity(caller, key)).values(created_at=utcnow())
                )
                return None
            raise Conflict(
                f"A request with Idempotency-Key {key!r} is still being processed; retry shortly.",
                headers={"Retry-After": "1"},
            )

    async def complete(self, caller: str, key: str, response: Response) -> None:
        async with self.database.engine.begin() as connection:
            await connection.execute(
                update(self.table)
                .where(*self._identity(caller, key))
                .values(status_code=response.status_code, content_type=response.media_type, body=bytes(response.body))
            )

    async def release(self, caller: str, key: str) -> None:
        async with self.database.engine.begin() as connection:
            await connection.execute(delete(self.table).where(*self._identity(caller, key)))

    def _identity(self, caller: str, key: str) -> tuple:
        return (self.table.c.caller == caller, self.table.c.key == key)


def request_fingerprint(request: Request, body: bytes) -> str:
    material = json.dumps(
        [request.method, request.url.path, str(request.url.query), request.headers.get("content-type", "")]
    ).encode()
    return hashlib.sha256(material + b"\0" + body).hexdigest()


async def _caller_of(request: Request) -> str:
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a Bearer token is required")
    principal = await request.app.state.token_verifier.verify(token)
    return f"{principal.role.value}:{principal.subject}"


class IdempotentRoute(APIRoute):
    """Route class for routers whose POSTs honour ``Idempotency-Key``."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()

        async def handle_idempotently(request: Request) -> Response:
            key = request.headers.get(HEADER)
            if request.method != "POST" or key is None:
                return await handle(request)
            try:
                return await _handle_with_key(request, key, handle)
            except ProblemError as problem:
                return problem_response(problem.to_problem(), problem.headers)

        return handle_idempotently


async def _handle_with_key(request: Request, key: str, handle: Callable[[Request], Awaitable[Response]]) -> Response:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Unprocessable(errors=[(HEADER, f"must be 1 to {MAX_KEY_LENGTH} characters")])
    caller = await _caller_of(request)
    store: IdempotencyStore = request.app.state.idempotency
    replay = await store.claim(caller, key, request_fingerprint(request, await request.body()))
    if replay is not None:
        return replay
    try:
        response = await handle(request)
    except ProblemError as problem:
        response = problem_response(problem.to_problem(), problem.headers)
    except BaseException:
        await store.release(caller, key)
        raise
    if response.status_code >= 500 or not hasattr(response, "body"):
        await store.release(caller, key)
    else:
        await store.complete(caller, key, response)
    return response
