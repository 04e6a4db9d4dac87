from __future__ import annotations

from typing import Annotated, Any

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from minka_common.auth import Principal, Role, require_roles
from minka_common.unit_of_work import UnitOfWorkRoute
from minka_registry.database import Session
from minka_registry.identity import service
from minka_registry.identity.oauth import issue_token_response
from minka_registry.identity.schemas import ClientCreate, ClientCreated, UserCreate, UserOut

public_router = APIRouter(tags=["identity"])
router = APIRouter(prefix="/v1", tags=["identity"], route_class=UnitOfWorkRoute)

Admin = Annotated[Principal, Depends(require_roles(Role.admin))]


@public_router.get("/.well-known/jwks.json", summary="Public keys that verify Minka access tokens")
async def jwks(request: Request) -> dict[str, Any]:
    return request.app.state.signing_keys.jwks()


@public_router.post(
    "/v1/oauth/token",
    summary="OAuth 2 token endpoint (client_credentials, password)",
    description="Form-encoded, RFC 6749. Errors are RFC 6749 error objects, not problem documents.",
)
async def token(request: Request, session: Session) -> JSONResponse:
    form = await request.form()
    fields = {key: [str(value) for value in form.getlist(key)] for key in form.keys()}
    basic_client_id, _ = extract_basic_authorization(request.headers)
    client_id = basic_client_id or _first(fields, "client_id")
    accounts = await service.find_token_accounts(session, client_id, _first(fields, "username"))
    settings = request.app.state.settings
    status, body, headers = await run_in_threadpool(
        issue_token_response,
        accounts,
        request.app.state.signing_keys,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        ttl=settings.token_ttl_seconds,
        # TLS ends at the gateway; authlib's https check is about the client's view of the endpoint.
        uri=str(request.url.replace(scheme="https")),
        headers=request.headers,
        form=fields,
    )
    return JSONResponse(body, status_code=status, headers=dict(headers))


def _first(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


@router.post("/users", status_code=201, response_model=UserOut, summary="Create a user (admin)")
async def create_user(body: UserCreate, session: Session, _: Admin) -> UserOut:
    user = await service.create_user(session, body.email, body.password, body.role, body.organization_id)
    return UserOut.model_validate(user, from_attributes=True)


@router.post("/clients", status_code=201, response_model=ClientCreated, summary="Create an API client (admin)")
async def create_client(body: ClientCreate, session: Session, _: Admin) -> ClientCreated:
    client, secret = await service.create_client(session, body.name, body.role, body.organization_id)
    return ClientCreated(
        id=client.id,
        name=client.name,
        client_id=client.client_id,
        client_secret=secret,
        role=client.role,
        organization_id=client.organization_id,
    )
