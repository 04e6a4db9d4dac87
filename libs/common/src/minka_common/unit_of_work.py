"""One request, one transaction: the route commits what its handler changed, once, with the idempotency outcome.

Handlers read and change data through the request's session (``db_session``) and flush; they never commit.
When the handler has answered, ``UnitOfWorkRoute`` decides:

- 2xx: the answer is recorded under the request's ``Idempotency-Key`` (if it has one) in the same transaction as
  the changes, and both commit together;
- 4xx: the changes are rolled back; the refusal is recorded under the key on its own;
- 5xx or an exception: rolled back, nothing recorded, so the key is free for a retry.

Calls to other services are made by handlers before they write (``DESIGN.md``, the write path), so no lock
is held while another service answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.crash_points import CrashPoint, crash_point
from minka_common.db import COMMITTED_BY_REQUEST, REQUEST_SESSION, Database
from minka_common.errors import Conflict, ProblemError, ServiceUnavailable, problem_response
from minka_common.idempotency import HEADER, IdempotencyStore, KeyClaim

Handler = Callable[[Request], Awaitable[Response]]
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class UnitOfWorkRoute(APIRoute):
    """Route class of every router whose handlers use the database: one transaction per request, committed by
    the route together with the ``Idempotency-Key`` outcome of a write."""

    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()

        async def handle_in_unit_of_work(request: Request) -> Response:
            try:
                return await run_unit_of_work(request, handle)
            except ProblemError as problem:
                return problem_response(problem.to_problem(), problem.headers)

        return handle_in_unit_of_work


async def run_unit_of_work(request: Request, handle: Handler) -> Response:
    database: Database = request.app.state.database
    store: IdempotencyStore = request.app.state.idempotency
    key = request.headers.get(HEADER) if request.method in WRITE_METHODS else None
    async with database.session() as session:
        session.info[COMMITTED_BY_REQUEST] = True
        request.scope[REQUEST_SESSION] = session
        try:
            claim = None
            if key is not None:
                claim = await store.claim(request, session, key)
                if isinstance(claim, Response):
                    return claim
            try:
                return await _answer(request, session, handle, store, claim)
            finally:
                if claim is not None:
                    store.release(claim)
        except OperationalError as exc:  # the database is unreachable, or busy beyond its timeout
            raise ServiceUnavailable("the database did not answer; nothing was changed, retry later") from exc
        finally:
            request.scope.pop(REQUEST_SESSION, None)


async def _answer(
    request: Request, session: AsyncSession, handle: Handler, store: IdempotencyStore, claim: KeyClaim | None
) -> Response:
    try:
        response = await handle(request)
    except ProblemError as problem:
        response = problem_response(problem.to_problem(), problem.headers)
    except BaseException:
        await session.rollback()
        raise
    if response.status_code >= 400:
        await session.rollback()
        if claim is not None and response.status_code < 500:
            await store.record_refusal(claim, response)
        return response
    if claim is not None and hasattr(response, "body"):
        await store.record(session, claim, response)
    writes = request.method in WRITE_METHODS
    if writes:
        crash_point(request.app.state, CrashPoint.before_commit)
    replay = await _commit(session, store, claim)
    if writes:
        crash_point(request.app.state, CrashPoint.after_commit)
    return replay or response


async def _commit(session: AsyncSession, store: IdempotencyStore, claim: KeyClaim | None) -> Response | None:
    """Commits; None, or the answer a twin request with the same key committed first (then nothing of ours is)."""
    session.info.pop(COMMITTED_BY_REQUEST, None)
    try:
        await session.commit()
        return None
    except IntegrityError as exc:  # a unique index hit by a concurrent request at the last moment
        await session.rollback()
        if claim is not None and (stored := await store.stored_answer(session, claim)) is not None:
            return stored
        raise Conflict("the change conflicts with another one made at the same time; retry") from exc
