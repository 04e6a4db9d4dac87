"""GeoJSON geometry validation (RFC 7946: WGS84 longitude/latitude in degrees).

Problems are reported as ``GeometryProblem(field, reason)`` where ``field`` is a
dotted path relative to the geometry ("coordinates.0.3" is ring 0, position 3)
and an empty field means the geometry itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import NamedTuple

from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

__all__ = [
    "AREA_TYPES",
    "DEFAULT_GEOMETRY_TYPES",
    "GEOJSON_TYPES",
    "GeometryProblem",
    "feature_collection_problems",
    "geometry_problems",
    "to_shape",
]

GEOJSON_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"}
)
DEFAULT_GEOMETRY_TYPES = frozenset({"Point", "Polygon", "MultiPolygon"})
AREA_TYPES = frozenset({"Polygon", "MultiPolygon"})


class GeometryProblem(NamedTuple):
    field: str
    reason: str


Check = Callable[[object, str], list[GeometryProblem]]


def _path(*parts: object) -> str:
    return ".".join(str(p) for p in parts if p != "")


def _is_array(value: object) -> bool:
    return isinstance(value, list | tuple)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _array_problem(value: object, path: str, what: str, minimum: int = 1) -> GeometryProblem | None:
    if not _is_array(value):
        return GeometryProblem(path, f"expected an array of {what}")
    if len(value) < minimum:
        return GeometryProblem(path, f"expected at least {minimum} {what}, got {len(value)}")
    return None


def _each(check: Check, what: str, minimum: int = 1) -> Check:
    def problems(value: object, path: str) -> list[GeometryProblem]:
        if problem := _array_problem(value, path, what, minimum):
            return [problem]
        return [p for i, item in enumerate(value) for p in check(item, _path(path, i))]

    return problems


def _position_problems(value: object, path: str) -> list[GeometryProblem]:
    if not _is_array(value) or len(value) not in (2, 3) or not all(_is_number(v) for v in value):
        return [GeometryProblem(path, "a position must be 2 or 3 numbers: [longitude, latitude(, altitude)]")]
    try:
        lon, lat, *_ = (float(v) for v in value)
    except OverflowError:
        return [GeometryProblem(path, "position contains a number too large to represent")]
    if not all(math.isfinite(v) for v in value):
        return [GeometryProblem(path, "position contains a non-finite number")]
    problems = []
    if not -180 <= lon <= 180:
        problems.append(GeometryProblem(path, f"longitude {lon} is outside [-180, 180]"))
    if not -90 <= lat <= 90:
        problems.append(GeometryProblem(path, f"latitude {lat} is outside [-90, 90]"))
    return problems


_line_problems = _each(_position_problems, "positions", minimum=2)
_ring_positions_problems = _each(_position_problems, "positions", minimum=4)


def _ring_problems(value: object, path: str) -> list[GeometryProblem]:
    problems = _ring_positions_problems(value, path)
    if not problems and list(value[0]) != list(value[-1]):
        problems.append(GeometryProblem(path, "linear ring is not closed: first and last positions differ"))
    return problems


def _shapely_polygon(rings: list) -> Polygon:
    shell, *holes = ([position[:2] for position in ring] for ring in rings)
    return Polygon(shell, holes)


def _validity_problems(geom: BaseGeometry, path: str) -> list[GeometryProblem]:
    if geom.is_valid:
        return []
    return [GeometryProblem(path, f"polygon is invalid: {explain_validity(geom)}")]


_rings_problems = _each(_ring_problems, "linear rings")


def _polygon_problems(value: object, path: str) -> list[GeometryProblem]:
    if problems := _rings_problems(value, path):
        return problems
    return _validity_problems(_shapely_polygon(value), path)


_polygons_problems = _each(_polygon_problems, "polygons")


def _multi_polygon_problems(value: object, path: str) -> list[GeometryProblem]:
    if problems := _polygons_problems(value, path):
        return problems
    return _validity_problems(MultiPolygon([_shapely_polygon(p) for p in value]), path)


_COORDINATE_CHECKS = {
    "Point": _position_problems,
    "MultiPoint": _each(_position_problems, "positions"),
    "LineString": _line_problems,
    "MultiLineString": _each(_line_problems, "line strings"),
    "Polygon": _polygon_problems,
    "MultiPolygon": _multi_polygon_problems,
}


def _type_problem(geometry: dict, allowed_types: Iterable[str]) -> GeometryProblem | None:
    kind = geometry.get("type")
    if kind is None:
        return GeometryProblem("type", "geometry type is required")
    if not isinstance(kind, str) or kind not in GEOJSON_TYPES:
        return GeometryProblem("type", f"unknown geometry type {kind!r}")
    if kind not in allowed_types:
        expected = ", ".join(sorted(allowed_types))
        return GeometryProblem("type", f"geometry type {kind!r} is not allowed here; expected one of: {expected}")
    return None


def _collection_problems(geometry: dict, allowed_types: frozenset[str]) -> list[GeometryProblem]:
    members = geometry.get("geometries")
    if problem := _array_problem(members, "geometries", "geometries", minimum=0):
        return [problem]
    return [
        GeometryProblem(_path("geometries", i, p.field), p.reason)
        for i, member in enumerate(members)
        for p in geometry_problems(member, allowed_types)
    ]


def geometry_problems(
    geometry: object, allowed_types: frozenset[str] = DEFAULT_GEOMETRY_TYPES
) -> list[GeometryProblem]:
    """Every problem found in a GeoJSON geometry object; an empty list means it is valid."""
    if not isinstance(geometry, dict):
        return [GeometryProblem("", "geometry must be a JSON object")]
    if problem := _type_problem(geometry, allowed_types):
        return [problem]
    if geometry["type"] == "GeometryCollection":
        return _collection_problems(geometry, allowed_types)
    if "coordinates" not in geometry:
        return [GeometryProblem("coordinates", "coordinates are required")]
    return _COORDINATE_CHECKS[geometry["type"]](geometry["coordinates"], "coordinates")


def to_shape(geometry: dict) -> BaseGeometry:
    """Shapely geometry for a GeoJSON geometry that already passed ``geometry_problems``."""
    return shape(geometry)


def _feature_problems(feature: object, path: str, allowed_types: frozenset[str]) -> list[GeometryProblem]:
    if not isinstance(feature, dict):
        return [GeometryProblem(path, "feature must be a JSON object")]
    problems = []
    if feature.get("type") != "Feature":
        problems.append(GeometryProblem(_path(path, "type"), "feature type must be 'Feature'"))
    geometry_path = _path(path, "geometry")
    if feature.get("geometry") is None:
        return [*problems, GeometryProblem(geometry_path, "feature geometry is required")]
    problems.extend(
        GeometryProblem(_path(geometry_path, p.field), p.reason)
        for p in geometry_problems(feature["geometry"], allowed_types)
    )
    return problems


def feature_collection_problems(
    doc: object, allowed_types: frozenset[str] = AREA_TYPES
) -> list[GeometryProblem]:
    """Every problem found in a GeoJSON FeatureCollection, e.g. at "features.3.geometry.coordinates.0.2"."""
    if not isinstance(doc, dict):
        return [GeometryProblem("", "document must be a JSON object")]
    problems = []
    if doc.get("type") != "FeatureCollection":
        problems.append(GeometryProblem("type", "document type must be 'FeatureCollection'"))
    features = doc.get("features")
    if problem := _array_problem(features, "features", "features"):
        return [*problems, problem]
    problems.extend(
        p
        for i, feature in enumerate(features)
        for p in _feature_problems(feature, _path("features", i), allowed_types)
    )
    return problems
