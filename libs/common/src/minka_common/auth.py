"""Resource-server side of authentication: verify a Bearer JWT and yield a Principal.

The issuer (the registry, or an external OIDC provider) publishes its keys as a
JWKS. In the all-in-one process the key set is read in-process; otherwise it is
fetched over HTTP and cached.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Protocol

import httpx
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from minka_common.errors import Forbidden, NotFound, Unauthorized

SIGNING_ALGORITHMS = ["RS256"]


class Role(StrEnum):
    admin = "admin"
    certifier = "certifier"
    coop_manager = "coop_manager"
    buyer = "buyer"
    authority = "authority"
    service = "service"


UNSCOPED_ROLES = frozenset({Role.admin, Role.authority, Role.service})
"""Roles not bound to one organisation: they see across tenants (authority and service read only)."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    organization_id: uuid.UUID | None

    @property
    def is_unscoped(self) -> bool:
        return self.role in UNSCOPED_ROLES

    def belongs_to(self, organization_id: uuid.UUID | None) -> bool:
        return organization_id is not None and self.organization_id == organization_id


class KeySetSource(Protocol):
    async def key_set(self, refresh: bool = False) -> KeySet: ...


class InProcessKeySet:
    """Keys read straight from the issuer living in the same process."""

    def __init__(self, provider: Callable[[], KeySet]) -> None:
        self._provider = provider

    async def key_set(self, refresh: bool = False) -> KeySet:
        return self._provider()


class RemoteKeySet:
    """A JWKS fetched over HTTP, cached for ``ttl_seconds``; refreshed early when a token names an unknown key."""

    def __init__(self, url: str, http: httpx.AsyncClient, ttl_seconds: float = 300, min_refresh_seconds: float = 30):
        self.url, self._http = url, http
        self._ttl, self._min_refresh = ttl_seconds, min_refresh_seconds
        self._cached: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def key_set(self, refresh: bool = False) -> KeySet:
        age = time.monotonic() - self._fetched_at
        stale = self._cached is None or age > self._ttl or (refresh and age > self._min_refresh)
        if stale:
            async with self._lock:
                response = await self._http.get(self.url)
                response.raise_for_status()
                self._cached = KeySet.import_key_set(response.json())
                self._fetched_at = time.monotonic()
        assert self._cached is not None
        return self._cached


class TokenVerifier:
    def __init__(self, keys: KeySetSource, issuer: str, audience: str, leeway_seconds: int = 30) -> None:
        self.keys = keys
        self._claims = jwt.JWTClaimsRegistry(
            leeway=leeway_seconds,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    async def verify(self, token: str) -> Principal:
        try:
            decoded = await self._decode(token)
            self._claims.validate(decoded.claims)
            return principal_from_claims(decoded.claims)
        except (JoseError, ValueError, KeyError) as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        except httpx.HTTPError as exc:
            raise Unauthorized("the token issuer's keys could not be fetched") from exc

    async def _decode(self, token: str) -> jwt.Token:
        keys = await self.keys.key_set()
        try:
            return jwt.decode(token, keys, algorithms=SIGNING_ALGORITHMS)
        except JoseError:
            keys = await self.keys.key_set(refresh=True)
            return jwt.decode(token, keys, algorithms=SIGNING_ALGORITHMS)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    organization = claims.get("org")
    return Principal(
        subject=str(claims["sub"]),
        role=Role(claims["role"]),
        organization_id=uuid.UUID(organization) if organization else None,
    )


_bearer = HTTPBearer(auto_error=False, description="JWT from the registry's token endpoint")


_PRINCIPAL = "minka_principal"


async def request_principal(request: Request) -> Principal:
    """The caller of the request, from its Bearer token, verified once per request (401 without a valid one)."""
    cached: Principal | None = request.scope.get(_PRINCIPAL)
    if cached is not None:
        return cached
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a Bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = request.scope[_PRINCIPAL] = await verifier.verify(token.strip())
    return principal


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The caller (``_bearer`` only documents the scheme in OpenAPI; the header is read by ``request_principal``)."""
    return await request_principal(request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    allowed = frozenset(roles)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"role {principal.role.value} may not do this")
        return principal

    return dependency


def organization_scope(principal: Principal) -> uuid.UUID | None:
    """The organisation a query must be limited to, or None when the caller sees every tenant."""
    if principal.is_unscoped:
        return None
    if principal.organization_id is None:
        raise Forbidden("this account is not bound to an organisation")
    return principal.organization_id


def ensure_visible(principal: Principal, owner_organization_id: uuid.UUID | None, what: str = "object") -> None:
    """Another tenant's object is reported as missing, never as forbidden."""
    scope = organization_scope(principal)
    if scope is not None and scope != owner_organization_id:
        raise NotFound(f"{what} not found")
