"""Rules and database work for sites and forest layers (routes stay thin).

Distances are metric (forest.py measures them in a local azimuthal equidistant projection),
stored on the site in km rounded to the metre, and ``forest_smart_applicable`` is always
derived from the stored value with ``forest.forest_smart_applicable`` (the one 5 km rule).

Limits (bad or oversized input is a 4xx, never a 500):
- a site geometry: a Point or a Polygon of at most ``MAX_SITE_POSITIONS`` positions;
- a forest layer upload: at most ``MAX_LAYER_BYTES`` of JSON (413 beyond), at most
  ``MAX_LAYER_FEATURES`` features and ``MAX_LAYER_POSITIONS`` positions in all (422 beyond);
  a 422 lists at most ``MAX_REPORTED_PROBLEMS`` problems;
- nearby forest: a radius of at most ``MAX_NEARBY_RADIUS_KM``, at most
  ``MAX_NEARBY_FEATURES`` features returned (nearest first).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from fastapi import Request
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, Text, bindparam, cast, insert, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.auth import Principal
from minka_common.db import after_commit, one_or_not_found
from minka_common.errors import ContentTooLarge, FieldError, NotFound, Unprocessable
from minka_common.geo import AREA_TYPES, GeometryProblem, feature_collection_problems, geometry_problems
from minka_common.ids import new_id, utcnow
from minka_common.types import storable_line
from minka_registry.organizations.models import Organization, OrganizationKind
from minka_registry.sites.access import ensure_may_upload_forest_layer, ensure_may_write_sites, visible_sites
from minka_registry.sites.forest import ForestIndex, forest_smart_applicable, search_bounds
from minka_registry.sites.forest_cache import forest_indexes, lock_forest, polygons_from_geojson, read_fingerprint
from minka_registry.sites.models import ForestLayer, ForestPolygon, Site
from minka_registry.sites.schemas import ForestLayerOut, SiteCreate, SiteOut, SiteUpdate

SITE_GEOMETRY_TYPES = frozenset({"Point", "Polygon"})
MAX_SITE_POSITIONS = 10_000
MAX_LAYER_BYTES = 32 * 1024 * 1024
MAX_LAYER_FEATURES = 50_000
MAX_LAYER_POSITIONS = 1_000_000
MAX_LAYER_NAME_LENGTH = 200
MAX_LAYER_SOURCE_LENGTH = 500
MAX_REPORTED_PROBLEMS = 100
MAX_NEARBY_RADIUS_KM = 50.0
MAX_NEARBY_FEATURES = 200
MAX_NEARBY_CANDIDATES = 2_000
DISTANCE_DECIMALS = 3  # km rounded to the metre

logger = logging.getLogger("minka.registry.sites")




# --- geometry ------------------------------------------------------------------------------


def _field_errors(prefix: str, problems: Sequence[GeometryProblem]) -> list[FieldError]:
    """geo.py paths are relative to the geometry (or document); prefix them with where it sits in the body."""
    return [FieldError(field=".".join(p for p in (prefix, problem.field) if p) or "body", reason=problem.reason)
            for problem in problems]


def _count_positions(coordinates: Any, depth: int) -> int:
    """Positions in a coordinates array nested ``depth`` levels (Point 0, Polygon 2, MultiPolygon 3); tolerant of junk."""
    if depth == 0:
        return 1
    if not isinstance(coordinates, list):
        return 0
    if depth == 1:
        return len(coordinates)
    return sum(_count_positions(item, depth - 1) for item in coordinates)


_DEPTH = {"Point": 0, "Polygon": 2, "MultiPolygon": 3}


def _positions_in(geometry: Any) -> int:
    if not isinstance(geometry, dict) or geometry.get("type") not in _DEPTH:
        return 0
    return _count_positions(geometry.get("coordinates"), _DEPTH[geometry["type"]])


def site_geometry_errors(geometry: Any, field: str = "geometry") -> list[FieldError]:
    positions = _positions_in(geometry)
    if positions > MAX_SITE_POSITIONS:
        reason = f"{positions} positions; at most {MAX_SITE_POSITIONS} are accepted for a site"
        return [FieldError(field=f"{field}.coordinates", reason=reason)]
    return _field_errors(field, geometry_problems(geometry, SITE_GEOMETRY_TYPES))


def canonical_geometry(geometry: dict[str, Any]) -> dict[str, Any]:
    """What is stored of a validated geometry: its type and coordinates (foreign members and bbox are dropped)."""
    return {"type": geometry["type"], "coordinates": geometry["coordinates"]}


def _flat(coordinates: Any, depth: int) -> Any:
    if depth == 0:
        return [float(coordinates[0]), float(coordinates[1])]
    return [_flat(item, depth - 1) for item in coordinates]


def planar_geometry(geometry: dict[str, Any]) -> dict[str, Any]:
    """The geometry in 2D (altitudes dropped), for a geometry that passed validation."""
    return {"type": geometry["type"], "coordinates": _flat(geometry["coordinates"], _DEPTH[geometry["type"]])}


def site_shape(geometry: dict[str, Any]) -> BaseGeometry:
    return shape(planar_geometry(geometry))


def _rounded_km(distance_km: float | None) -> float | None:
    return None if distance_km is None else round(distance_km, DISTANCE_DECIMALS)


def forest_distance_km(index: ForestIndex, site: BaseGeometry) -> float | None:
    return _rounded_km(index.distance_km(site))


# --- sites ---------------------------------------------------------------------------------


def site_out(site: Site) -> SiteOut:
    return SiteOut(
        id=site.id,
        cooperative_id=site.cooperative_id,
        name=site.name,
        geometry=site.geometry,
        minerals=site.minerals,
        method=site.method,
        title_number=site.title_number,
        title_expires_on=site.title_expires_on,
        status=site.status,
        capacity_kg_per_month=site.capacity_kg_per_month,
        forest_distance_km=site.forest_distance_km,
        forest_smart_applicable=forest_smart_applicable(site.forest_distance_km),
        created_at=site.created_at,
        updated_at=site.updated_at,
    )


async def cooperative_errors(session: AsyncSession, cooperative_id: uuid.UUID) -> list[FieldError]:
    kind = (await session.exec(select(Organization.kind).where(Organization.id == cooperative_id))).one_or_none()
    if kind is None:
        return [FieldError(field="cooperative_id", reason="no organisation has this id")]
    if kind != OrganizationKind.cooperative:
        return [FieldError(field="cooperative_id", reason=f"the organisation is a {kind.value}, not a cooperative")]
    return []


async def _current_distance(session: AsyncSession, site: BaseGeometry) -> float | None:
    """Distance against every committed layer; holds the shared forest lock until the transaction ends."""
    await lock_forest(session, exclusive=False)
    snapshot = await forest_indexes.snapshot(session)
    return forest_distance_km(snapshot.index, site)


async def create_site(session: AsyncSession, principal: Principal, body: SiteCreate) -> Site:
    ensure_may_write_sites(principal, body.cooperative_id)
    errors = await cooperative_errors(session, body.cooperative_id) + site_geometry_errors(body.geometry)
    if errors:
        raise Unprocessable("The site is not valid.", errors=errors)
    site = Site(**{**body.model_dump(), "geometry": canonical_geometry(body.geometry)})
    site.forest_distance_km = await _current_distance(session, site_shape(body.geometry))
    session.add(site)
    await session.flush()
    return site


async def load_visible_site(session: AsyncSession, principal: Principal, site_id: uuid.UUID) -> Site:
    statement = select(Site).where(Site.id == site_id, visible_sites(principal))
    return await one_or_not_found(session, statement, "site")


def list_sites_statement(
    principal: Principal, cooperative_id: uuid.UUID | None = None, status: str | None = None
) -> Select[Any]:
    statement = select(Site).where(visible_sites(principal))
    if cooperative_id is not None:
        statement = statement.where(Site.cooperative_id == cooperative_id)
    if status is not None:
        statement = statement.where(Site.status == status)
    return statement


async def update_site(session: AsyncSession, principal: Principal, site_id: uuid.UUID, body: SiteUpdate) -> Site:
    site = await load_visible_site(session, principal, site_id)
    ensure_may_write_sites(principal, site.cooperative_id)
    changes = body.model_dump(exclude_unset=True)
    if "geometry" in changes:
        if errors := site_geometry_errors(changes["geometry"]):
            raise Unprocessable("The site is not valid.", errors=errors)
        # Before the site is touched: a pending change would be autoflushed (row-locking the site)
        # while waiting for the forest lock, which a running upload holds while it updates sites.
        changes["geometry"] = canonical_geometry(changes["geometry"])
        changes["forest_distance_km"] = await _current_distance(session, site_shape(changes["geometry"]))
    for field, value in changes.items():
        setattr(site, field, value)
    site.updated_at = utcnow()
    session.add(site)
    await session.flush()
    return site


# --- forest layers -------------------------------------------------------------------------


async def read_limited_body(request: Request, limit: int | None = None) -> bytes:
    limit = MAX_LAYER_BYTES if limit is None else limit
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ContentTooLarge(f"the body is {int(declared)} bytes; at most {limit} are accepted")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ContentTooLarge(f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class ForestLayerUpload:
    """A validated FeatureCollection: its geometries (as uploaded), their properties, and the layer's metadata."""

    geometries: list[dict[str, Any]]
    properties: list[dict[str, Any] | None]
    name: str | None
    source: str | None


def _metadata(document: dict[str, Any], member: str, given: str | None, max_length: int) -> tuple[str | None, list[FieldError]]:
    value = given if given is not None else document.get(member)
    if value is None:
        return None, []
    if not isinstance(value, str):
        return None, [FieldError(field=member, reason="must be a string")]
    value = value.strip()
    if len(value) > max_length:
        return None, [FieldError(field=member, reason=f"at most {max_length} characters")]
    try:
        storable_line(value)
    except ValueError as exc:
        return None, [FieldError(field=member, reason=str(exc))]
    return value or None, []


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _has_non_finite_number(value: Any) -> bool:
    """Whether a JSON value holds ±inf (an over-large number such as 1e400), which JSON columns cannot store."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _too_many(errors: list[FieldError]) -> Unprocessable:
    detail = "The forest layer is not valid."
    if len(errors) > MAX_REPORTED_PROBLEMS:
        detail += f" {len(errors)} problems were found; the first {MAX_REPORTED_PROBLEMS} are listed."
    return Unprocessable(detail, errors=errors[:MAX_REPORTED_PROBLEMS])


def _properties_problem(properties: Any) -> str | None:
    if not isinstance(properties, dict | None):
        return "properties must be an object or null"
    if _has_non_finite_number(properties):
        return "properties hold a number too large to store"
    return None


def parse_forest_layer(raw: bytes, name: str | None = None, source: str | None = None) -> ForestLayerUpload:
    """Validate an uploaded GeoJSON FeatureCollection of (Multi)Polygons; ``name``/``source`` override its members."""
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, over-long integers, deep nesting
        raise Unprocessable("The body is not valid JSON.", errors=[("body", str(exc)[:200])]) from exc
    if not isinstance(document, dict):
        raise Unprocessable(errors=[("body", "expected a GeoJSON FeatureCollection object")])
    name, name_errors = _metadata(document, "name", name, MAX_LAYER_NAME_LENGTH)
    source, source_errors = _metadata(document, "source", source, MAX_LAYER_SOURCE_LENGTH)
    errors = name_errors + source_errors
    features = document.get("features")
    if isinstance(features, list):
        if len(features) > MAX_LAYER_FEATURES:
            raise Unprocessable(errors=[("features", f"{len(features)} features; at most {MAX_LAYER_FEATURES} per layer")])
        positions = sum(_positions_in(f.get("geometry")) for f in features if isinstance(f, dict))
        if positions > MAX_LAYER_POSITIONS:
            raise Unprocessable(errors=[("features", f"{positions} positions; at most {MAX_LAYER_POSITIONS} per layer")])
    errors += _field_errors("", feature_collection_problems(document, AREA_TYPES))
    if isinstance(features, list):
        errors += [
            FieldError(field=f"features.{i}.properties", reason=problem)
            for i, feature in enumerate(features)
            if isinstance(feature, dict) and (problem := _properties_problem(feature.get("properties")))
        ]
    if errors:
        raise _too_many(errors)
    return ForestLayerUpload(
        geometries=[canonical_geometry(feature["geometry"]) for feature in features],
        properties=[feature.get("properties") for feature in features],
        name=name,
        source=source,
    )


def layer_out(layer: ForestLayer) -> ForestLayerOut:
    return ForestLayerOut(
        id=layer.id,
        name=layer.name,
        source=layer.source,
        feature_count=layer.feature_count,
        bbox=[layer.min_lon, layer.min_lat, layer.max_lon, layer.max_lat],
        created_at=layer.created_at,
    )


async def recompute_site_distances(session: AsyncSession, index: ForestIndex) -> int:
    """Recompute every site's distance against ``index``, write the ones that changed; returns the number of sites."""
    rows = (await session.exec(select(Site.id, Site.geometry, Site.forest_distance_km))).all()

    def changed() -> list[dict[str, Any]]:
        updates = []
        for site_id, geometry, old in rows:
            new = forest_distance_km(index, site_shape(geometry))
            if new != old:
                updates.append({"site_id": site_id, "distance": new})
        return updates

    updates = await asyncio.to_thread(changed)
    if updates:
        table = Site.__table__  # type: ignore[attr-defined]
        statement = update(table).where(table.c.id == bindparam("site_id")).values(forest_distance_km=bindparam("distance"))
        await session.exec(statement, params=updates)
    return len(rows)


async def create_forest_layer(
    session: AsyncSession, principal: Principal, upload: ForestLayerUpload
) -> tuple[ForestLayer, int]:
    """Store the layer, one row per feature, and recompute every site's distance in the same transaction.

    Uploads are serialised by the exclusive forest lock; site writes take it shared, so no site
    is computed against a set of layers that an upload is about to change.
    """
    ensure_may_upload_forest_layer(principal)
    started = time.perf_counter()

    def shapes_and_bounds() -> tuple[np.ndarray, np.ndarray]:
        shapes = polygons_from_geojson([json.dumps(g) for g in upload.geometries])  # 2D
        return shapes, shapely.bounds(shapes)

    shapes, bounds = await asyncio.to_thread(shapes_and_bounds)
    await lock_forest(session, exclusive=True)
    base = await forest_indexes.snapshot(session)  # before the insert: committed layers only

    west, south = bounds[:, 0].min(), bounds[:, 1].min()
    east, north = bounds[:, 2].max(), bounds[:, 3].max()
    layer = ForestLayer(
        name=upload.name,
        source=upload.source,
        feature_count=len(upload.geometries),
        min_lon=float(west), min_lat=float(south), max_lon=float(east), max_lat=float(north),
        created_by=principal.subject[:255],
    )
    session.add(layer)
    await session.flush()
    rows = [
        {
            "id": new_id(),
            "layer_id": layer.id,
            "position": position,
            "geometry": geometry,
            "properties": properties,
            "min_lon": float(box[0]), "min_lat": float(box[1]), "max_lon": float(box[2]), "max_lat": float(box[3]),
        }
        for position, (geometry, properties, box) in enumerate(zip(upload.geometries, upload.properties, bounds, strict=True))
    ]
    await session.exec(insert(ForestPolygon.__table__), params=rows)  # type: ignore[attr-defined]

    fingerprint = await read_fingerprint(session)  # includes this layer; the lock keeps others out
    snapshot = await asyncio.to_thread(base.extended, fingerprint, shapes)
    site_count = await recompute_site_distances(session, snapshot.index)
    after_commit(session, lambda: forest_indexes.store(session, snapshot))
    logger.info(
        "forest layer %s stored: %d features, %d sites recomputed in %.2f s",
        layer.id, layer.feature_count, site_count, time.perf_counter() - started,
    )
    return layer, site_count


async def load_forest_layer(session: AsyncSession, layer_id: uuid.UUID) -> ForestLayer:
    layer = await session.get(ForestLayer, layer_id)
    if layer is None:
        raise NotFound("forest layer not found")
    return layer


def _json_text(value: str | None) -> str:
    return value if value is not None else "null"


async def forest_layer_geojson(session: AsyncSession, layer: ForestLayer) -> str:
    """The layer as a FeatureCollection, assembled from the stored JSON texts (no re-encoding of big layers)."""
    statement = (
        select(ForestPolygon.id, cast(ForestPolygon.geometry, Text), cast(ForestPolygon.properties, Text))
        .where(ForestPolygon.layer_id == layer.id)
        .order_by(ForestPolygon.position)
    )
    rows = (await session.exec(statement)).all()
    features = ",".join(
        f'{{"type":"Feature","id":"{polygon_id}","geometry":{geometry},"properties":{_json_text(properties)}}}'
        for polygon_id, geometry, properties in rows
    )
    header = json.dumps({"id": str(layer.id), "name": layer.name, "source": layer.source})[1:-1]
    return f'{{"type":"FeatureCollection",{header},"features":[{features}]}}'


async def nearby_forest(session: AsyncSession, site: Site, radius_km: float) -> dict[str, Any]:
    """Forest features within ``radius_km`` (metric) of the site, nearest first, as a FeatureCollection."""
    site_geometry = site_shape(site.geometry)
    west, south, east, north = search_bounds(site_geometry, radius_km * 1000)
    statement = (
        select(
            ForestPolygon.id,
            ForestPolygon.layer_id,
            cast(ForestPolygon.geometry, Text),
            ForestPolygon.properties,
        )
        .where(
            ForestPolygon.min_lon <= east,
            ForestPolygon.max_lon >= west,
            ForestPolygon.min_lat <= north,
            ForestPolygon.max_lat >= south,
        )
        .order_by(ForestPolygon.id)
        .limit(MAX_NEARBY_CANDIDATES + 1)
    )
    rows = (await session.exec(statement)).all()
    truncated = len(rows) > MAX_NEARBY_CANDIDATES
    rows = rows[:MAX_NEARBY_CANDIDATES]

    def distances() -> list[float | None]:
        shapes = polygons_from_geojson([row[2] for row in rows])
        return [ForestIndex([forest]).distance_km(site_geometry) for forest in shapes]

    measured = sorted(
        ((distance, row) for distance, row in zip(await asyncio.to_thread(distances), rows, strict=True)
         if distance is not None and distance <= radius_km),
        key=lambda pair: pair[0],
    )
    truncated = truncated or len(measured) > MAX_NEARBY_FEATURES
    features = [
        {
            "type": "Feature",
            "id": str(polygon_id),
            "geometry": json.loads(geometry),
            "properties": {
                "layer_id": str(layer_id),
                "distance_km": _rounded_km(distance),
                "source_properties": properties,
            },
        }
        for distance, (polygon_id, layer_id, geometry, properties) in measured[:MAX_NEARBY_FEATURES]
    ]
    return {
        "type": "FeatureCollection",
        "site_id": str(site.id),
        "radius_km": radius_km,
        "truncated": truncated,
        "features": features,
    }
