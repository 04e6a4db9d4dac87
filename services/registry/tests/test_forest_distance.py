import math
import random

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, box

from minka_registry.sites.forest import FOREST_SMART_RADIUS_KM, ForestIndex, forest_smart_applicable

GEOD = Geod(ellps="WGS84")


def geodesic_km(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1000


def east_of(lon, lat, metres):
    lon2, lat2, _ = GEOD.fwd(lon, lat, 90, metres)
    return Point(lon2, lat2)


def test_point_three_km_east_of_forest_at_equator():
    index = ForestIndex([box(-0.1, -0.05, 0.0, 0.05)])
    assert index.distance_km(east_of(0.0, 0.0, 3000)) == pytest.approx(3.0, rel=0.01)


def test_degrees_are_not_metres_at_60_north():
    index = ForestIndex([box(24.9, 59.9, 25.0, 60.1)])
    distance = index.distance_km(Point(25.05, 60.0))
    assert distance == pytest.approx(0.05 * 111.32 * math.cos(math.radians(60)), rel=0.01)
    assert distance == pytest.approx(geodesic_km(25.0, 60.0, 25.05, 60.0), rel=0.01)
    assert distance < 3.0


def test_long_edges_follow_lon_lat_lines():
    index = ForestIndex([box(24.0, 60.0, 26.0, 60.5)])
    site_lat = 60.0 - 2.0 / 111.4
    expected = geodesic_km(25.0, site_lat, 25.0, 60.0)
    assert index.distance_km(Point(25.0, site_lat)) == pytest.approx(expected, rel=0.01)


def test_site_polygon_distance_is_measured_from_its_edge():
    index = ForestIndex([box(-0.1, -0.05, 0.0, 0.05)])
    east_edge = east_of(0.0, 0.0, 2000).x
    site = box(east_edge, -0.005, east_edge + 0.01, 0.005)
    assert index.distance_km(site) == pytest.approx(2.0, rel=0.01)


def test_point_inside_forest_is_zero():
    index = ForestIndex([box(10.0, 10.0, 11.0, 11.0)])
    assert index.distance_km(Point(10.5, 10.5)) == 0.0


def test_touching_and_overlapping_sites_are_zero():
    index = ForestIndex([box(10.0, 10.0, 11.0, 11.0)])
    assert index.distance_km(Point(11.0, 10.5)) == 0.0
    assert index.distance_km(box(10.9, 10.9, 11.1, 11.1)) == 0.0


def test_multipolygon_forest():
    forest = MultiPolygon([box(0.0, 0.0, 0.01, 0.01), box(1.0, 1.0, 1.01, 1.01)])
    index = ForestIndex([forest])
    assert index.distance_km(Point(1.005, 1.005)) == 0.0
    assert index.distance_km(Point(1.05, 1.005)) == pytest.approx(geodesic_km(1.01, 1.005, 1.05, 1.005), rel=0.01)


def test_empty_index_gives_none():
    index = ForestIndex([])
    assert len(index) == 0
    assert index.distance_km(Point(0, 0)) is None
    assert index.distances_km([Point(0, 0), Point(1, 1)]) == [None, None]


def test_forest_smart_boundaries():
    assert FOREST_SMART_RADIUS_KM == 5
    assert forest_smart_applicable(0.0)
    assert forest_smart_applicable(4.99)
    assert forest_smart_applicable(5.0)
    assert not forest_smart_applicable(5.01)
    assert not forest_smart_applicable(None)


def test_nearest_in_metres_wins_over_nearest_in_degrees_at_70_north():
    site = Point(20.0, 70.0)
    north = box(19.9, 70.08, 20.1, 70.2)
    east = box(20.12, 69.9, 20.3, 70.1)
    assert shapely.distance(site, north) < shapely.distance(site, east)
    assert geodesic_km(20.0, 70.0, 20.12, 70.0) < geodesic_km(20.0, 70.0, 20.0, 70.08)

    distance = ForestIndex([north, east]).distance_km(site)

    assert distance == pytest.approx(geodesic_km(20.0, 70.0, 20.12, 70.0), rel=0.01)
    assert distance == pytest.approx(0.12 * 111.32 * math.cos(math.radians(70)), rel=0.01)
    assert forest_smart_applicable(distance)


def test_distances_km_matches_one_by_one():
    rng = random.Random(7)
    forests = []
    for _ in range(300):
        lon, lat, size = rng.uniform(-10, 10), rng.uniform(50, 70), rng.uniform(0.005, 0.05)
        forests.append(box(lon, lat, lon + size, lat + size / 2))
    index = ForestIndex(forests)
    sites = [Point(rng.uniform(-10, 10), rng.uniform(50, 70)) for _ in range(200)]

    distances = index.distances_km(sites)

    assert distances == [index.distance_km(site) for site in sites]
    assert all(d is not None and d >= 0 for d in distances)


def test_distances_match_brute_force_geodesic():
    rng = random.Random(11)
    forests = []
    for _ in range(200):
        lon, lat, size = rng.uniform(0, 2), rng.uniform(64, 66), rng.uniform(0.005, 0.02)
        forests.append(box(lon, lat, lon + size, lat + size))
    index = ForestIndex(forests)
    boundaries = shapely.boundary(np.array(forests))
    for _ in range(20):
        lon, lat = rng.uniform(0, 2), rng.uniform(64, 66)
        if index.distance_km(Point(lon, lat)) == 0.0:
            continue
        lons, lats = shapely.get_coordinates(shapely.segmentize(boundaries, 0.0002)).T
        brute = GEOD.inv(np.full_like(lons, lon), np.full_like(lats, lat), lons, lats)[2].min() / 1000
        assert index.distance_km(Point(lon, lat)) == pytest.approx(brute, rel=0.01)
