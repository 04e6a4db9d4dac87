"""Distance from mine sites to forest polygons, in metres (reported in km), never in degrees.

Forest polygons (WGS84 lon/lat) live in a ``shapely.STRtree``. For one site:

1. a polygon that intersects, touches or contains the site gives 0.0;
2. the polygon nearest *in degrees* gives an upper bound: the geodesic length of the
   shortest lon/lat line between the site and that polygon. It is not necessarily the
   nearest in metres, because a degree of longitude shrinks with cos(latitude);
3. every polygon whose envelope meets a lon/lat box around the site that safely covers
   that upper bound at the site's latitude is a candidate. Candidates are clipped to the
   box, densified, and projected to an azimuthal equidistant (AEQD) projection centred on
   the site, where the planar distance is measured; the answer is the minimum.

AEQD from the site centre is accurate to well under 1% within tens of km.
Out of scope: geometries crossing the antimeridian (the search box is clipped at ±180°)
and sites at the poles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry.base import BaseGeometry

__all__ = ["FOREST_SMART_RADIUS_KM", "ForestIndex", "forest_smart_applicable"]

FOREST_SMART_RADIUS_KM = 5.0

_GEOD = Geod(ellps="WGS84")
_MIN_METRES_PER_DEGREE_LAT = 110_574.0
_METRES_PER_DEGREE_LON_AT_EQUATOR = 111_320.0
_SEARCH_MARGIN = 1.1
_DENSIFY_DEGREES = 0.01


def forest_smart_applicable(distance_km: float | None) -> bool:
    return distance_km is not None and distance_km <= FOREST_SMART_RADIUS_KM


def _aeqd_transformer(lon: float, lat: float) -> Transformer:
    # Same as Transformer.from_crs("EPSG:4326", "+proj=aeqd ... +datum=WGS84 +units=m",
    # always_xy=True), but built from a pipeline: ~100x cheaper, which matters per site.
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +ellps=WGS84"
    )


def _to_metres(geometry, transformer: Transformer):
    def project(lonlat: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(lonlat[:, 0], lonlat[:, 1]))

    return shapely.transform(shapely.segmentize(geometry, _DENSIFY_DEGREES), project)


def search_bounds(site: BaseGeometry, radius_m: float) -> tuple[float, float, float, float]:
    """Lon/lat bounds holding every point within ``radius_m`` of the site (with margin)."""
    radius_m = radius_m * _SEARCH_MARGIN + 1.0
    west, south, east, north = site.bounds
    dlat = radius_m / _MIN_METRES_PER_DEGREE_LAT
    south, north = max(south - dlat, -90.0), min(north + dlat, 90.0)
    cos_lat = math.cos(math.radians(max(abs(south), abs(north))))
    dlon = radius_m / (_METRES_PER_DEGREE_LON_AT_EQUATOR * cos_lat) if cos_lat > 1e-9 else 360.0
    return max(west - dlon, -180.0), south, min(east + dlon, 180.0), north


class ForestIndex:
    """Spatial index of forest (Multi)Polygons in WGS84 lon/lat for metric distance queries."""

    def __init__(self, polygons: Iterable[BaseGeometry]) -> None:
        self._polygons = np.array([p for p in polygons if p is not None and not p.is_empty], dtype=object)
        self._tree = shapely.STRtree(self._polygons)

    def __len__(self) -> int:
        return len(self._polygons)

    def distance_km(self, site: BaseGeometry) -> float | None:
        """Distance in km from the site to the nearest forest polygon; None if the index is empty."""
        if not len(self._polygons):
            return None
        if site.is_empty:
            raise ValueError("site geometry is empty")
        if len(self._tree.query(site, predicate="intersects")):
            return 0.0
        return self._distance_m(site) / 1000.0

    def distances_km(self, sites: Sequence[BaseGeometry]) -> list[float | None]:
        return [self.distance_km(site) for site in sites]

    def _upper_bound_m(self, site: BaseGeometry) -> float:
        nearest = self._polygons[self._tree.query_nearest(site)[0]]
        on_site, on_forest = shapely.shortest_line(site, nearest).coords
        return _GEOD.inv(on_site[0], on_site[1], on_forest[0], on_forest[1])[2]

    def _distance_m(self, site: BaseGeometry) -> float:
        bounds = search_bounds(site, self._upper_bound_m(site))
        candidates = shapely.clip_by_rect(self._polygons[self._tree.query(shapely.box(*bounds))], *bounds)
        candidates = candidates[~shapely.is_empty(candidates)]
        west, south, east, north = site.bounds
        transformer = _aeqd_transformer((west + east) / 2, (south + north) / 2)
        return float(shapely.distance(_to_metres(site, transformer), _to_metres(candidates, transformer)).min())
