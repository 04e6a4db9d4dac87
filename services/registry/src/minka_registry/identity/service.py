"""Accounts: who may hold which role, creating users and API clients, the bootstrap admin client."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.auth import Role
from minka_common.db import flush_or_conflict
from minka_common.errors import Unprocessable
from minka_registry.identity.models import ApiClient, User
from minka_registry.identity.oauth import TokenRequestAccounts
from minka_registry.identity.passwords import hash_secret, new_client_id, new_client_secret
from minka_registry.organizations.models import Organization, OrganizationKind

ROLE_ORGANIZATION_KINDS: dict[Role, frozenset[OrganizationKind]] = {
    Role.coop_manager: frozenset({OrganizationKind.cooperative}),
    Role.certifier: frozenset({OrganizationKind.certification_body}),
    Role.buyer: frozenset({OrganizationKind.buyer, OrganizationKind.trader, OrganizationKind.refiner}),
    Role.authority: frozenset({OrganizationKind.authority}),
}
ROLES_WITHOUT_ORGANIZATION = frozenset({Role.admin, Role.authority, Role.service})


def role_binding_problem(role: Role, organization: Organization | None) -> str | None:
    """Why this role cannot be bound to this organisation, or None when it can."""
    if organization is None:
        return None if role in ROLES_WITHOUT_ORGANIZATION else f"role {role.value} must belong to an organisation"
    if role == Role.admin:
        return "role admin is not bound to an organisation"
    allowed = ROLE_ORGANIZATION_KINDS.get(role)
    if allowed is not None and organization.kind not in allowed:
        kinds = ", ".join(sorted(kind.value for kind in allowed))
        return f"role {role.value} needs an organisation of kind {kinds}, not {organization.kind.value}"
    return None


async def check_role_binding(session: AsyncSession, role: Role, organization_id: uuid.UUID | None) -> None:
    organization = None
    if organization_id is not None:
        organization = await session.get(Organization, organization_id)
        if organization is None:
            raise Unprocessable(errors=[("organization_id", "no such organisation")])
    problem = role_binding_problem(role, organization)
    if problem:
        raise Unprocessable(errors=[("organization_id" if organization_id else "role", problem)])


async def create_user(
    session: AsyncSession, email: str, password: str, role: Role, organization_id: uuid.UUID | None
) -> User:
    await check_role_binding(session, role, organization_id)
    user = User(email=email.lower(), password_hash=hash_secret(password), role=role, organization_id=organization_id)
    session.add(user)
    await flush_or_conflict(session, f"a user with email {email.lower()} already exists")
    return user


async def create_client(
    session: AsyncSession, name: str, role: Role, organization_id: uuid.UUID | None
) -> tuple[ApiClient, str]:
    await check_role_binding(session, role, organization_id)
    secret = new_client_secret()
    client = ApiClient(
        client_id=new_client_id(), name=name, secret_hash=hash_secret(secret), role=role, organization_id=organization_id
    )
    session.add(client)
    await session.flush()
    return client, secret


async def ensure_client(session: AsyncSession, client_id: str, secret: str, role: Role, name: str) -> None:
    """An unbound API client configured by settings exists with this secret and role (created or updated).

    Replicas starting together all run this: when another one inserts the client between our look and our
    insert, its row is updated instead."""
    try:
        await _create_or_update_client(session, client_id, secret, role, name)
    except IntegrityError:
        await session.rollback()
        await _create_or_update_client(session, client_id, secret, role, name)


async def _create_or_update_client(session: AsyncSession, client_id: str, secret: str, role: Role, name: str) -> None:
    client = (await session.exec(select(ApiClient).where(ApiClient.client_id == client_id))).one_or_none()
    if client is None:
        client = ApiClient(client_id=client_id, name=name, secret_hash="", role=role)
    client.secret_hash, client.role, client.active, client.organization_id = hash_secret(secret), role, True, None
    session.add(client)
    await session.commit()


async def find_token_accounts(
    session: AsyncSession, client_id: str | None, username: str | None
) -> TokenRequestAccounts:
    client = user = None
    if client_id:
        client = (
            await session.exec(select(ApiClient).where(ApiClient.client_id == client_id, ApiClient.active))
        ).one_or_none()
    if username:
        user = (
            await session.exec(select(User).where(User.email == username.strip().lower(), User.active))
        ).one_or_none()
    return TokenRequestAccounts(client=client, user=user)
