"""``/v1/webhooks``: integrators register endpoints that receive the service's events as they happen.

Requests follow Standard Webhooks (https://www.standardwebhooks.com): a JSON body ``{"id", "type", "subject",
"timestamp", "data"}`` signed with the secret returned at registration. A webhook receives the events its owner
could read in the feed, from its registration on; the events of one subject arrive in order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import ColumnElement, Table, func, insert, select, true, type_coerce, update
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.auth import CurrentPrincipal, Principal, Role
from minka_common.db import db_session
from minka_common.errors import Conflict, Forbidden, NotFound, Unprocessable
from minka_common.events.tables import EventTables
from minka_common.events.webhook_delivery import target_policy, webhook_resolver
from minka_common.events.webhook_rules import DeliveryState, new_secret, url_problem
from minka_common.events.webhook_targets import registration_refusal
from minka_common.ids import Clock, new_id, utcnow
from minka_common.pagination import Page, PageParams, UuidText, paginate
from minka_common.settings import service_settings
from minka_common.unit_of_work import UnitOfWorkRoute

Session = Annotated[AsyncSession, Depends(db_session)]
MAX_EVENT_TYPES = 100
UNSCOPED_OWNERS = frozenset({Role.admin, Role.authority})

ROUTER_DESCRIPTION = """Each event is POSTed as JSON `{"id", "type", "subject", "timestamp", "data"}` with the
Standard Webhooks headers `webhook-id` (the event id: deduplicate on it, a delivery may come more than once),
`webhook-timestamp` and `webhook-signature` (HMAC-SHA256 with the secret returned at registration). Any 2xx answer
is a success; anything else (redirects are not followed) is retried with exponential backoff until the attempts run
out and the delivery is `failed`. Events of one subject are delivered in order.

The URL must be https (http only where the deployment allows it), and its host must resolve to public internet
addresses only: loopback, private, link-local and other internal addresses are refused, in every notation, at
registration and again at every delivery."""


class WebhookIn(BaseModel):
    url: str = Field(description="https endpoint that receives the events (http only where the deployment allows "
                     "it); its host must resolve to public internet addresses only")
    event_types: list[str] = Field(min_length=1, max_length=MAX_EVENT_TYPES, description="Event types to receive")
    description: str | None = Field(None, max_length=500)

    @field_validator("url")
    @classmethod
    def acceptable_url(cls, url: str) -> str:
        problem = url_problem(url)
        if problem is not None:
            raise ValueError(problem)
        return url


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    organization_id: uuid.UUID | None = Field(description="The organisation whose events it receives")
    receives_all_organizations: bool = Field(description="Registered by an admin or authority: every event")
    active: bool
    created_at: datetime
    disabled_at: datetime | None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signing secret (whsec_…); shown only now")


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    subject: str
    event_cursor: str = Field(description="The event's cursor in GET /v1/events")
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None = Field(description="When a pending delivery is tried (again)")
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="HTTP status of the last answer, if any")
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


def webhook_out(row: Any) -> WebhookOut:
    return WebhookOut(id=row.id, url=row.url, event_types=row.event_types, description=row.description,
                      organization_id=row.organization_id, receives_all_organizations=row.sees_all,
                      active=row.disabled_at is None, created_at=row.created_at, disabled_at=row.disabled_at)


def delivery_out(row: Any) -> DeliveryOut:
    return DeliveryOut(id=row.id, event_id=row.event_id, event_type=row.type, subject=row.subject,
                       event_cursor=str(row.position), state=row.state, attempts=row.attempts,
                       next_attempt_at=row.next_attempt_at, last_attempt_at=row.last_attempt_at,
                       last_status_code=row.last_status_code, last_error=row.last_error,
                       delivered_at=row.delivered_at, created_at=row.created_at)


@dataclass(frozen=True)
class Owner:
    """Who a new webhook belongs to, and so which events it may receive."""

    organization_id: str | None
    sees_all: bool
    created_by: str


def owner_of(principal: Principal) -> Owner:
    if principal.organization_id is None and principal.role not in UNSCOPED_OWNERS:
        raise Forbidden("only callers bound to an organisation, admins and authorities register webhooks")
    organization = str(principal.organization_id) if principal.organization_id else None
    return Owner(organization, principal.is_unscoped, principal.subject)


def managed_by(principal: Principal, webhooks: Table) -> ColumnElement[bool]:
    """The webhooks a caller may see and change: an admin all, others their organisation's (or, bound to none,
    those they registered themselves)."""
    if principal.role is Role.admin:
        return true()
    if principal.organization_id is not None:
        return webhooks.c.organization_id == str(principal.organization_id)
    return (webhooks.c.organization_id.is_(None)) & (webhooks.c.created_by == principal.subject)


def webhooks_router(tables: EventTables, event_types: Sequence[str]) -> APIRouter:
    webhooks, deliveries, events = tables.webhooks, tables.deliveries, tables.events
    router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=UnitOfWorkRoute)
    known_types = ", ".join(f"`{name}`" for name in event_types)

    async def managed_webhook(session: AsyncSession, principal: Principal, webhook_id: uuid.UUID) -> Any:
        row = (await session.exec(
            select(webhooks).where(webhooks.c.id == str(webhook_id), managed_by(principal, webhooks))
        )).one_or_none()
        if row is None:
            raise NotFound("webhook not found")
        return row

    def deliveries_of(webhook_id: str) -> Any:
        return (
            select(deliveries, events.c.id.label("event_id"), events.c.type)
            .select_from(deliveries.join(events, events.c.position == deliveries.c.position))
            .where(deliveries.c.webhook_id == webhook_id)
        )

    @router.post("", status_code=201, response_model=WebhookCreated, summary="Register a webhook",
                 description=f"{ROUTER_DESCRIPTION}\n\nEvent types of this service: {known_types}.")
    async def register(body: WebhookIn, session: Session, principal: CurrentPrincipal, request: Request) \
            -> WebhookCreated:
        owner = owner_of(principal)
        unknown = sorted(set(body.event_types) - set(event_types))
        if unknown:
            raise Unprocessable("Unknown event type.", errors=[("event_types", f"unknown: {', '.join(unknown)}")])
        settings = service_settings(request.app)
        refusal = await registration_refusal(body.url, target_policy(settings), webhook_resolver(request.app),
                                             settings.webhook_timeout_seconds)
        if refusal is not None:
            raise Unprocessable("Webhook target not allowed.", errors=[("url", refusal)])
        clock: Clock = getattr(request.app.state, "clock", utcnow)
        values = {
            "id": str(new_id()), "organization_id": owner.organization_id, "sees_all": owner.sees_all,
            "url": body.url, "event_types": list(dict.fromkeys(body.event_types)), "secret": new_secret(),
            "description": body.description, "created_by": owner.created_by, "created_at": clock(),
            "disabled_at": None,
            # events from now on only: positions are handed out in commit order, so none can appear below this
            "from_position": (await session.exec(select(func.coalesce(func.max(events.c.position), 0))))
            .scalar_one(),
        }
        await session.exec(insert(webhooks).values(values))
        await session.flush()
        row = (await session.exec(select(webhooks).where(webhooks.c.id == values["id"]))).one()
        return WebhookCreated(**webhook_out(row).model_dump(), secret=row.secret)

    @router.get("", response_model=Page[WebhookOut], summary="Webhooks of the caller's organisation")
    async def list_webhooks(session: Session, principal: CurrentPrincipal, page: PageParams) -> Page[WebhookOut]:
        statement = select(webhooks).where(managed_by(principal, webhooks))
        return await paginate(session, statement, type_coerce(webhooks.c.id, UuidText()), page, webhook_out,
                              id_of=lambda row: uuid.UUID(row.id))

    @router.get("/{webhook_id}", response_model=WebhookOut, summary="One webhook (without its secret)")
    async def get_webhook(webhook_id: uuid.UUID, session: Session, principal: CurrentPrincipal) -> WebhookOut:
        return webhook_out(await managed_webhook(session, principal, webhook_id))

    @router.delete("/{webhook_id}", status_code=204, summary="Disable a webhook: no new deliveries")
    async def disable_webhook(webhook_id: uuid.UUID, session: Session, principal: CurrentPrincipal,
                              request: Request) -> Response:
        await managed_webhook(session, principal, webhook_id)
        clock: Clock = getattr(request.app.state, "clock", utcnow)
        await session.exec(update(webhooks).where(webhooks.c.id == str(webhook_id), webhooks.c.disabled_at.is_(None))
                              .values(disabled_at=clock()))
        await session.flush()
        return Response(status_code=204)

    @router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryOut],
                summary="A webhook's deliveries, oldest first, with their state")
    async def list_deliveries(
        webhook_id: uuid.UUID,
        session: Session,
        principal: CurrentPrincipal,
        page: PageParams,
        state: Annotated[DeliveryState | None, Query(description="only deliveries in this state")] = None,
    ) -> Page[DeliveryOut]:
        await managed_webhook(session, principal, webhook_id)
        statement = deliveries_of(str(webhook_id))
        if state is not None:
            statement = statement.where(deliveries.c.state == state)
        return await paginate(session, statement, type_coerce(deliveries.c.id, UuidText()), page, delivery_out,
                              id_of=lambda row: uuid.UUID(row.id))

    @router.post("/{webhook_id}/deliveries/{delivery_id}/retry", response_model=DeliveryOut,
                 summary="Send a failed delivery again, with a fresh set of attempts")
    async def retry_delivery(webhook_id: uuid.UUID, delivery_id: uuid.UUID, session: Session,
                             principal: CurrentPrincipal, request: Request) -> DeliveryOut:
        webhook = await managed_webhook(session, principal, webhook_id)
        delivery = (await session.exec(
            deliveries_of(webhook.id).where(deliveries.c.id == str(delivery_id))
        )).one_or_none()
        if delivery is None:
            raise NotFound("delivery not found")
        if webhook.disabled_at is not None:
            raise Conflict("the webhook is disabled")
        clock: Clock = getattr(request.app.state, "clock", utcnow)
        retried = await session.exec(
            update(deliveries).where(deliveries.c.id == delivery.id, deliveries.c.state == DeliveryState.failed)
            .values(state=DeliveryState.pending, attempts=0, next_attempt_at=clock())
        )
        if retried.rowcount != 1:
            raise Conflict(f"only a failed delivery can be retried; this one is {delivery.state}")
        await session.flush()
        row = (await session.exec(deliveries_of(webhook.id).where(deliveries.c.id == delivery.id))).one()
        return delivery_out(row)

    return router
