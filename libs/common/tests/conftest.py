"""A tiny service built with the common factory, to test the shared plumbing without any domain."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlmodel import Field, select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.app import create_service_app
from minka_common.auth import CurrentPrincipal, InProcessKeySet, Principal, Role, TokenVerifier, require_roles
from minka_common.db import Database, db_session, service_base
from minka_common.idempotency import idempotency_table
from minka_common.pagination import Page, PageParams, paginate
from minka_common.testing import running
from minka_common.unit_of_work import UnitOfWorkRoute

ISSUER, AUDIENCE = "urn:test:issuer", "minka"
SampleModel = service_base("sample")
sample_idempotency = idempotency_table(SampleModel.metadata)


class Item(SampleModel, table=True):
    __tablename__ = "items"
    id: uuid.UUID = Field(primary_key=True)
    name: str
    organization_id: uuid.UUID | None = None


Session = Annotated[AsyncSession, Depends(db_session)]


class ItemIn(BaseModel):
    name: str = PydanticField(min_length=1, max_length=20)
    quantity: int = PydanticField(ge=0)


class ItemOut(BaseModel):
    id: uuid.UUID
    name: str


def build_router() -> APIRouter:
    from minka_common.ids import new_id

    router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)

    @router.post("/items", status_code=201)
    async def create(body: ItemIn, session: Session, principal: CurrentPrincipal) -> ItemOut:
        item = Item(id=new_id(), name=body.name, organization_id=principal.organization_id)
        session.add(item)
        await session.flush()
        return ItemOut(id=item.id, name=item.name)

    @router.get("/items")
    async def items(session: Session, page: PageParams, _: CurrentPrincipal) -> Page[ItemOut]:
        return await paginate(session, select(Item), Item.id, page, lambda i: ItemOut(id=i.id, name=i.name))

    @router.get("/admin-only")
    async def admin_only(principal: Annotated[Principal, Depends(require_roles(Role.admin))]) -> dict:
        return {"subject": principal.subject}

    @router.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("secret internals")

    @router.post("/fail")
    async def fail(_: CurrentPrincipal) -> dict:
        raise RuntimeError("server-side failure")

    return router


class Issuer:
    name, audience = ISSUER, AUDIENCE

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.key_set = KeySet([RSAKey.import_key(self.key.as_dict(private=False))])

    def token(self, role: str = "admin", org: str | None = None, key: RSAKey | None = None, **overrides) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "tester", "role": role, "org": org, "exp": now + 300, "iat": now}
        claims.update(overrides)
        signing_key = key or self.key
        return jwt.encode({"alg": "RS256", "kid": signing_key.kid or "test-key"}, claims, signing_key)

    def headers(self, **kwargs) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**kwargs)}"}


@pytest.fixture(scope="session")
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture(scope="session")
async def sample_app(issuer: Issuer, tmp_path_factory) -> AsyncIterator[FastAPI]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('common') / 'sample.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(SampleModel.metadata.create_all)
    app = create_service_app(
        name="sample",
        title="sample",
        description="test service",
        database=database,
        idempotency_table=sample_idempotency,
        token_verifier=TokenVerifier(InProcessKeySet(lambda: issuer.key_set), ISSUER, AUDIENCE),
        routers=[build_router()],
        migrations=None,
    )
    async with running(app):
        yield app


@pytest.fixture(scope="session")
async def client(sample_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sample_app, raise_app_exceptions=False), base_url="http://sample.test"
    ) as client:
        yield client
