from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlmodel import select

from minka_common.auth import CurrentPrincipal, Principal, Role, require_roles
from minka_common.jobs import ACCEPTED_RESPONSE, JobContext, accepted, wants_job
from minka_common.pagination import Page, PageParams, paginate
from minka_common.unit_of_work import UnitOfWorkRoute
from minka_registry.database import Session
from minka_registry.sites import service
from minka_registry.sites.models import ForestLayer, Site, SiteStatus
from minka_registry.sites.schemas import ForestLayerCreated, ForestLayerOut, SiteCreate, SiteOut, SiteUpdate

router = APIRouter(prefix="/v1", route_class=UnitOfWorkRoute)

GEOJSON = "application/geo+json"


# --- sites ---------------------------------------------------------------------------------


@router.post(
    "/sites",
    status_code=201,
    response_model=SiteOut,
    tags=["sites"],
    summary="Register a mine site (admin, or the cooperative's manager)",
    description=(
        "`geometry` is a GeoJSON Point or Polygon (RFC 7946, WGS84 `[longitude, latitude]`, at most "
        f"{service.MAX_SITE_POSITIONS} positions). Invalid geometry → 422 naming the field with its full path, "
        "e.g. `geometry.coordinates.0.3`. `forest_distance_km` is computed against every loaded forest layer "
        "(null when none is loaded)."
    ),
)
async def create_site(body: SiteCreate, session: Session, principal: CurrentPrincipal) -> SiteOut:
    return service.site_out(await service.create_site(session, principal, body))


@router.get("/sites", response_model=Page[SiteOut], tags=["sites"], summary="List the sites the caller may see")
async def list_sites(
    session: Session,
    principal: CurrentPrincipal,
    page: PageParams,
    cooperative_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[SiteStatus | None, Query()] = None,
) -> Page[SiteOut]:
    statement = service.list_sites_statement(principal, cooperative_id, status)
    return await paginate(session, statement, Site.id, page, service.site_out)


@router.get("/sites/{site_id}", response_model=SiteOut, tags=["sites"], summary="One site")
async def get_site(site_id: uuid.UUID, session: Session, principal: CurrentPrincipal) -> SiteOut:
    return service.site_out(await service.load_visible_site(session, principal, site_id))


@router.patch(
    "/sites/{site_id}",
    response_model=SiteOut,
    tags=["sites"],
    summary="Change a site",
    description=(
        "Omitted fields stay unchanged; null for a required field → 422; the cooperative cannot be changed. "
        "A new geometry recomputes the forest distance."
    ),
)
async def update_site(site_id: uuid.UUID, body: SiteUpdate, session: Session, principal: CurrentPrincipal) -> SiteOut:
    return service.site_out(await service.update_site(session, principal, site_id, body))


@router.get(
    "/sites/{site_id}/nearby-forest",
    tags=["sites"],
    summary="Forest polygons near a site, as GeoJSON",
    description=(
        "A FeatureCollection of the forest features whose metric distance to the site is at most `radius_km` "
        f"(≤ {service.MAX_NEARBY_RADIUS_KM:g}), nearest first, at most {service.MAX_NEARBY_FEATURES}; "
        "`truncated` is true when some were left out. Each feature's properties hold `layer_id`, `distance_km` "
        "and the uploaded `source_properties`."
    ),
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def nearby_forest(
    site_id: uuid.UUID,
    session: Session,
    principal: CurrentPrincipal,
    radius_km: Annotated[float, Query(gt=0, le=service.MAX_NEARBY_RADIUS_KM)] = 10.0,
) -> Response:
    site = await service.load_visible_site(session, principal, site_id)
    collection = await service.nearby_forest(session, site, radius_km)
    return _geojson_response(collection)


# --- forest layers -------------------------------------------------------------------------

_FEATURE_COLLECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "name": {"type": "string", "maxLength": service.MAX_LAYER_NAME_LENGTH},
        "source": {"type": "string", "maxLength": service.MAX_LAYER_SOURCE_LENGTH},
        "features": {
            "type": "array",
            "minItems": 1,
            "maxItems": service.MAX_LAYER_FEATURES,
            "items": {
                "type": "object",
                "required": ["type", "geometry"],
                "properties": {
                    "type": {"const": "Feature"},
                    "geometry": {"type": "object", "description": "GeoJSON Polygon or MultiPolygon"},
                    "properties": {"type": ["object", "null"]},
                },
            },
        },
    },
}


INLINE_LAYER_BYTES = 256 * 1024
"""A layer up to this size is stored before the answer; a bigger one by a job (sites are recomputed either way)."""
LAYER_JOB = "forest_layers.create"


@router.post(
    "/forest-layers",
    status_code=201,
    response_model=ForestLayerCreated,
    tags=["forest layers"],
    summary="Upload a forest layer (admin)",
    description=(
        "The body is a GeoJSON FeatureCollection (`application/geo+json` or `application/json`) of Polygon and "
        "MultiPolygon features in WGS84. The layer's `name` and `source` may be given as query parameters or as "
        "top-level members of the FeatureCollection; the query parameters win when both are given.\n\n"
        f"Limits: {service.MAX_LAYER_BYTES // (1024 * 1024)} MiB of JSON (413 beyond), "
        f"{service.MAX_LAYER_FEATURES} features and {service.MAX_LAYER_POSITIONS} positions per layer (422 beyond). "
        "Invalid features → 422 naming each field with its full path, e.g. `features.2.geometry.coordinates.0`, "
        f"listing at most {service.MAX_REPORTED_PROBLEMS} problems.\n\n"
        "Every site's `forest_distance_km` is recomputed against all loaded layers in the same transaction.\n\n"
        f"A body up to {INLINE_LAYER_BYTES // 1024} KiB is stored before the answer (201); a bigger one, or any "
        "sent with `Prefer: respond-async`, is stored by a job: 202 with the job and its `Location`, whose `result` "
        "is the 201's body and whose `problem` is the 422 when the layer is refused."
    ),
    responses=ACCEPTED_RESPONSE,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                GEOJSON: {"schema": _FEATURE_COLLECTION_SCHEMA},
                "application/json": {"schema": _FEATURE_COLLECTION_SCHEMA},
            },
        }
    },
)
async def upload_forest_layer(
    request: Request,
    session: Session,
    principal: Annotated[Principal, Depends(require_roles(Role.admin))],
    name: Annotated[str | None, Query(max_length=service.MAX_LAYER_NAME_LENGTH)] = None,
    source: Annotated[str | None, Query(max_length=service.MAX_LAYER_SOURCE_LENGTH)] = None,
) -> ForestLayerCreated | Response:
    service.ensure_may_upload_forest_layer(principal)
    raw = await service.read_limited_body(request)
    if wants_job(request, len(raw), INLINE_LAYER_BYTES):
        job = await request.app.state.jobs.enqueue(session, LAYER_JOB, principal, input=raw,
                                                   params={"name": name, "source": source})
        return accepted(request, job)
    return await store_forest_layer(session, principal, raw, name, source)


async def store_forest_layer(
    session: Session, principal: Principal, raw: bytes, name: str | None, source: str | None
) -> ForestLayerCreated:
    # Parsing and validating a big layer takes seconds of CPU: keep it off the event loop.
    upload = await asyncio.to_thread(service.parse_forest_layer, raw, name, source)
    layer, sites = await service.create_forest_layer(session, principal, upload)
    return ForestLayerCreated(**service.layer_out(layer).model_dump(), sites_recomputed=sites)


async def run_layer_job(job: JobContext) -> dict:
    stored = await store_forest_layer(job.session, job.principal, job.input or b"", job.params["name"],
                                      job.params["source"])
    return stored.model_dump(mode="json")


@router.get(
    "/forest-layers", response_model=Page[ForestLayerOut], tags=["forest layers"], summary="List forest layers (no geometry)"
)
async def list_forest_layers(session: Session, _: CurrentPrincipal, page: PageParams) -> Page[ForestLayerOut]:
    return await paginate(session, select(ForestLayer), ForestLayer.id, page, service.layer_out)


@router.get(
    "/forest-layers/{layer_id}",
    tags=["forest layers"],
    summary="One forest layer as a GeoJSON FeatureCollection",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def get_forest_layer(layer_id: uuid.UUID, session: Session, _: CurrentPrincipal) -> Response:
    layer = await service.load_forest_layer(session, layer_id)
    return Response(await service.forest_layer_geojson(session, layer), media_type=GEOJSON)


def _geojson_response(document: dict[str, Any]) -> Response:
    return Response(json.dumps(document), media_type=GEOJSON)
