"""Async engine and sessions, one per service.

Each service declares its tables on its own SQLModel base (``service_base()``),
so the three services can share one process without sharing metadata.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

from fastapi import Request
from sqlalchemy import DateTime, Numeric, String, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, registry
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.errors import Conflict, NotFound


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def timestamp_field() -> Any:
    """A required UTC timestamp column that defaults to now."""
    from minka_common.ids import utcnow

    return Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)


def service_base(name: str) -> type[SQLModel]:
    """A declarative base with a metadata of its own."""
    return type(f"{name.title()}Model", (SQLModel,), {}, registry=registry())


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _enable_sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def ensure_sqlite_directory(url: str) -> None:
    """SQLite creates its file on first connection, but not the directory it lives in."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_engine_for(url: str, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        ensure_sqlite_directory(url)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _enable_sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


COMMITTED_BY_REQUEST = "minka_committed_by_request"


class MinkaSession(AsyncSession):
    """A session that refuses ``commit()`` while a request's unit of work owns it: the route commits the
    request's changes once, together with its idempotency outcome (``minka_common.unit_of_work``)."""

    async def commit(self) -> None:
        if self.info.get(COMMITTED_BY_REQUEST):
            raise RuntimeError("a request's changes are committed by its unit of work: flush instead of commit")
        await super().commit()


class Database:
    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine_for(url, echo)
        self.sessionmaker = async_sessionmaker(self.engine, class_=MinkaSession, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose changes commit when the block ends without an exception (background work, start-up)."""
        async with self.session() as session:
            yield session
            await session.commit()

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


async def one_or_not_found(session: AsyncSession, statement: Any, what: str) -> Any:
    """The single row a visibility-filtered query finds, or 404: an invisible object is reported as missing."""
    row = (await session.exec(statement)).one_or_none()
    if row is None:
        raise NotFound(f"{what} not found")
    return row


async def flush_or_conflict(session: AsyncSession, conflict: str) -> None:
    """Flushes; a unique index hit by a concurrent request (or a duplicate) becomes a 409 with this detail
    instead of a 500 (the request's transaction is then rolled back)."""
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(conflict) from exc


REQUEST_SESSION = "minka_session"
_AFTER_COMMIT = "minka_after_commit"


def after_commit(session: AsyncSession | Session, action: Callable[[], None]) -> None:
    """Runs ``action`` once the session's transaction has committed (never if it rolls back): work that must only
    follow a durable change, such as filling a process cache or waking a job runner."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    sync_session.info.setdefault(_AFTER_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, []):
        action()


@event.listens_for(Session, "after_rollback")
def _forget_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: the request's session. Routes of a ``UnitOfWorkRoute`` share the one their unit of
    work opened (and commits); elsewhere a session of its own, rolled back at the end (reads only)."""
    owned: AsyncSession | None = request.scope.get(REQUEST_SESSION)
    if owned is not None:
        yield owned
        return
    database: Database = request.app.state.database
    async with database.session() as session:
        yield session


class ExactDecimalColumn(TypeDecorator[Decimal]):
    """An exact decimal on every database: NUMERIC on PostgreSQL, text on SQLite (whose NUMERIC is a float)."""

    impl = Numeric(38, 16)
    cache_ok = True

    def __init__(self, precision: int = 38, scale: int = 16) -> None:
        super().__init__()
        self.precision, self.scale = precision, scale
        self.impl = Numeric(precision, scale, asdecimal=True)

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> Any:
        if value is None:
            return None
        with localcontext() as context:
            context.prec = self.precision  # a value that does not fit is refused, not rounded (default is 28 digits)
            quantized = Decimal(value).quantize(Decimal(1).scaleb(-self.scale))
        return format(quantized, "f") if dialect.name == "sqlite" else quantized

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)
