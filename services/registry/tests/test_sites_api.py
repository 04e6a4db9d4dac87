"""Sites and forest layers through the API.

Forest layers are global and the app is shared by the whole session, so every test puts its
forest in a region of its own (a distinct longitude band, far from every other test's forest)
and asserts distances relative to its own forest only.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from pyproj import Geod
from shapely.geometry import Point

from minka_common.auth import Principal, Role
from minka_common.errors import Forbidden, NotFound
from minka_registry.sites import service
from minka_registry.sites.access import ensure_may_upload_forest_layer, ensure_may_write_sites, site_scope
from minka_registry.sites.forest import ForestIndex
from minka_registry.sites.forest_cache import forest_indexes

GEOD = Geod(ellps="WGS84")
LAT = -20.0
FAR_KM = 50.0  # every other test's forest is further away than this from a test's sites


def geodesic_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2] / 1000


def east_of(lon: float, lat: float, km: float) -> tuple[float, float]:
    lon2, lat2, _ = GEOD.fwd(lon, lat, 90, km * 1000)
    return lon2, lat2


def ring(west: float, south: float, east: float, north: float) -> list[list[float]]:
    return [[west, south], [east, south], [east, north], [west, north], [west, south]]


def forest_west_of(edge_lon: float, lat: float = LAT, size: float = 0.05) -> dict:
    """A square forest whose east edge is the meridian ``edge_lon``, centred on ``lat``."""
    return {"type": "Polygon", "coordinates": [ring(edge_lon - size, lat - size, edge_lon, lat + size)]}


def collection(*geometries: dict, **members) -> dict:
    features = [{"type": "Feature", "properties": {"n": i}, "geometry": g} for i, g in enumerate(geometries)]
    return {"type": "FeatureCollection", "features": features, **members}


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def site_body(cooperative_id: str, geometry: dict, **extra) -> dict:
    return {"cooperative_id": cooperative_id, "name": "Mina", "geometry": geometry, "minerals": ["gold"],
            "method": "alluvial", **extra}


async def upload(registry: httpx.AsyncClient, headers, document: dict, **params) -> dict:
    response = await registry.post("/v1/forest-layers", json=document, params=params, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def create_site(registry: httpx.AsyncClient, headers, body: dict) -> dict:
    response = await registry.post("/v1/sites", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def get_site(registry: httpx.AsyncClient, headers, site_id: str) -> dict:
    response = await registry.get(f"/v1/sites/{site_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def layer_names(registry: httpx.AsyncClient, headers) -> list[str | None]:
    response = await registry.get("/v1/forest-layers", params={"limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    return [layer["name"] for layer in response.json()["items"]]


def fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


def far_or_none(distance: float | None) -> bool:
    return distance is None or distance > FAR_KM


# --- distances -----------------------------------------------------------------------------


async def test_point_and_polygon_sites_get_distances_when_a_layer_is_uploaded(registry, admin_headers, actors):
    cooperative, manager = await actors.cooperative_manager("Coop distances")
    edge = 101.0
    point_site = await create_site(registry, manager, site_body(cooperative["id"], point(*east_of(edge, LAT, 3.0))))
    west, _ = east_of(edge, LAT, 8.0)
    east, _ = east_of(edge, LAT, 9.0)
    polygon = {"type": "Polygon", "coordinates": [ring(west, LAT - 0.005, east, LAT + 0.005)]}
    polygon_site = await create_site(registry, manager, site_body(cooperative["id"], polygon, method="hard_rock"))

    assert far_or_none(point_site["forest_distance_km"])
    assert point_site["forest_smart_applicable"] is False
    assert polygon_site["geometry"] == polygon and polygon_site["method"] == "hard_rock"

    created = await upload(registry, admin_headers, collection(forest_west_of(edge)), name="distances")
    assert created["feature_count"] == 1 and created["id"]

    after = await get_site(registry, manager, point_site["id"])
    expected = geodesic_km((edge, LAT), tuple(point_site["geometry"]["coordinates"]))
    assert after["forest_distance_km"] == pytest.approx(expected, rel=0.01)
    assert after["forest_smart_applicable"] is True

    after = await get_site(registry, manager, polygon_site["id"])
    expected = geodesic_km((edge, LAT), (west, LAT))
    assert after["forest_distance_km"] == pytest.approx(expected, rel=0.01)
    assert after["forest_smart_applicable"] is False


async def test_four_km_is_forest_smart_and_six_km_is_not(registry, admin_headers, actors):
    cooperative, manager = await actors.cooperative_manager("Coop 4 and 6 km")
    edge = 103.0
    await upload(registry, admin_headers, collection(forest_west_of(edge)), name="4-6 km")
    near = await create_site(registry, manager, site_body(cooperative["id"], point(*east_of(edge, LAT, 4.0))))
    far = await create_site(registry, manager, site_body(cooperative["id"], point(*east_of(edge, LAT, 6.0))))
    assert near["forest_distance_km"] == pytest.approx(4.0, rel=0.01)
    assert near["forest_smart_applicable"] is True
    assert far["forest_distance_km"] == pytest.approx(6.0, rel=0.01)
    assert far["forest_smart_applicable"] is False


async def test_distance_is_metric_at_high_latitude(registry, admin_headers, actors):
    cooperative, manager = await actors.cooperative_manager("Coop north")
    edge, lat = 105.0, 62.0
    await upload(registry, admin_headers, collection(forest_west_of(edge, lat)), name="north")
    # 0.08 degrees of longitude is ~8.9 km at the equator but ~4.2 km at 62° N.
    site = await create_site(registry, manager, site_body(cooperative["id"], point(edge + 0.08, lat)))
    assert site["forest_distance_km"] == pytest.approx(geodesic_km((edge, lat), (edge + 0.08, lat)), rel=0.01)
    assert site["forest_smart_applicable"] is True


async def test_patch_geometry_recomputes_the_distance(registry, admin_headers, actors):
    cooperative, manager = await actors.cooperative_manager("Coop patch")
    edge = 107.0
    await upload(registry, admin_headers, collection(forest_west_of(edge)), name="patch")
    site = await create_site(registry, manager, site_body(cooperative["id"], point(*east_of(edge, LAT, 6.0))))
    assert site["forest_smart_applicable"] is False

    response = await registry.patch(f"/v1/sites/{site['id']}", json={"geometry": point(*east_of(edge, LAT, 2.0))}, headers=manager)
    assert response.status_code == 200, response.text
    assert response.json()["forest_distance_km"] == pytest.approx(2.0, rel=0.01)
    assert response.json()["forest_smart_applicable"] is True

    response = await registry.patch(f"/v1/sites/{site['id']}", json={"name": "Renamed", "status": "inactive"}, headers=manager)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["status"]) == ("Renamed", "inactive")
    assert body["forest_distance_km"] == pytest.approx(2.0, rel=0.01)


async def test_a_new_layer_recomputes_existing_sites_only_where_nearer(registry, admin_headers, actors):
    cooperative, manager = await actors.cooperative_manager("Coop two layers")
    edge = 109.0
    await upload(registry, admin_headers, collection(forest_west_of(edge)), name="first")
    site = await create_site(registry, manager, site_body(cooperative["id"], point(*east_of(edge, LAT, 9.0))))
    assert site["forest_distance_km"] == pytest.approx(9.0, rel=0.01)
    # a second layer with a forest on the other side, 1 km east of the site
    site_lon = site["geometry"]["coordinates"][0]
    other_edge, _ = east_of(site_lon, LAT, 1.0)
    other = {"type": "MultiPolygon", "coordinates": [[ring(other_edge, LAT - 0.05, other_edge + 0.05, LAT + 0.05)]]}
    await upload(registry, admin_headers, collection(other), name="second")
    assert (await get_site(registry, manager, site["id"]))["forest_distance_km"] == pytest.approx(1.0, rel=0.01)


async def test_a_stale_cache_is_rebuilt_when_another_replica_added_a_layer(registry, admin_headers, actors):
    cooperative, manager = await actors.cooperative_manager("Coop replicas")
    edge = 111.0
    await create_site(registry, manager, site_body(cooperative["id"], point(edge + 5, LAT)))  # warms the cache
    stale = dict(forest_indexes._snapshots)
    await upload(registry, admin_headers, collection(forest_west_of(edge)), name="other replica")
    forest_indexes._snapshots.clear()
    forest_indexes._snapshots.update(stale)  # as if the upload had gone through another replica
    site = await create_site(registry, manager, site_body(cooperative["id"], point(*east_of(edge, LAT, 3.0))))
    assert site["forest_distance_km"] == pytest.approx(3.0, rel=0.01)


async def test_concurrent_site_writes_and_upload_agree(registry, admin_headers, actors):
    cooperative, manager = await actors.cooperative_manager("Coop concurrency")
    edge = 113.0
    moved = await create_site(registry, manager, site_body(cooperative["id"], point(edge + 0.5, LAT)))
    bodies = [site_body(cooperative["id"], point(*east_of(edge, LAT, km))) for km in (1.0, 2.0, 3.0, 4.0)]
    results = await asyncio.gather(
        *(registry.post("/v1/sites", json=body, headers=manager) for body in bodies[:2]),
        registry.patch(f"/v1/sites/{moved['id']}", json={"geometry": point(*east_of(edge, LAT, 2.5))}, headers=manager),
        registry.post("/v1/forest-layers", json=collection(forest_west_of(edge)), headers=admin_headers),
        *(registry.post("/v1/sites", json=body, headers=manager) for body in bodies[2:]),
    )
    assert [r.status_code for r in results] == [201, 201, 200, 201, 201, 201], [r.text for r in results]
    sites = [r.json()["id"] for r in results[:3] + results[4:]]
    for km, site_id in zip((1.0, 2.0, 2.5, 3.0, 4.0), sites, strict=True):
        stored = await get_site(registry, manager, site_id)
        assert stored["forest_distance_km"] == pytest.approx(km, rel=0.01)


async def test_forest_with_altitudes(registry, admin_headers, actors):
    cooperative, manager = await actors.cooperative_manager("Coop altitudes")
    edge = 135.0
    forest = {"type": "Polygon", "coordinates": [[[edge - 0.05, LAT - 0.05, 900], [edge, LAT - 0.05], [edge, LAT + 0.05, 950.5],
                                                  [edge - 0.05, LAT + 0.05], [edge - 0.05, LAT - 0.05, 900]]]}
    layer = await upload(registry, admin_headers, collection(forest), name="altitudes")
    site = await create_site(registry, manager, site_body(cooperative["id"], point(*east_of(edge, LAT, 2.0))))
    assert site["forest_distance_km"] == pytest.approx(2.0, rel=0.01)
    stored = (await registry.get(f"/v1/forest-layers/{layer['id']}", headers=manager)).json()
    assert stored["features"][0]["geometry"] == forest


async def test_nearby_forest(registry, admin_headers, actors):
    cooperative, manager = await actors.cooperative_manager("Coop nearby")
    edge = 115.0
    site = await create_site(registry, manager, site_body(cooperative["id"], point(*east_of(edge, LAT, 3.0))))
    site_lon = site["geometry"]["coordinates"][0]
    far_edge, _ = east_of(site_lon, LAT, 20.0)
    far_forest = {"type": "Polygon", "coordinates": [ring(far_edge, LAT - 0.05, far_edge + 0.05, LAT + 0.05)]}
    layer = await upload(registry, admin_headers, collection(forest_west_of(edge), far_forest), name="nearby")

    response = await registry.get(f"/v1/sites/{site['id']}/nearby-forest", params={"radius_km": 10}, headers=manager)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    near = response.json()
    assert near["type"] == "FeatureCollection"
    assert [f["properties"]["source_properties"] for f in near["features"]] == [{"n": 0}]
    assert near["features"][0]["properties"]["layer_id"] == layer["id"]
    assert near["features"][0]["geometry"]["type"] == "Polygon"

    both = (await registry.get(f"/v1/sites/{site['id']}/nearby-forest?radius_km=25", headers=manager)).json()
    distances = [f["properties"]["distance_km"] for f in both["features"]]
    assert distances == sorted(distances) and len(distances) == 2
    assert distances[1] == pytest.approx(20.0, rel=0.01)

    for radius in ("500", "0", "nan", "inf", "-1"):
        bad = await registry.get(f"/v1/sites/{site['id']}/nearby-forest?radius_km={radius}", headers=manager)
        assert bad.status_code == 422 and fields(bad) == ["radius_km"], (radius, bad.text)


# --- forest layers -------------------------------------------------------------------------


async def test_forest_layer_metadata_and_geojson(registry, admin_headers, actors):
    edge = 117.0
    document = collection(forest_west_of(edge), forest_west_of(edge, LAT + 1), name="INFOR 2024", source="national map")
    layer = await upload(registry, admin_headers, document)
    assert (layer["name"], layer["source"], layer["feature_count"]) == ("INFOR 2024", "national map", 2)
    assert layer["bbox"] == pytest.approx([edge - 0.05, LAT - 0.05, edge, LAT + 1.05])

    by_query = await upload(registry, admin_headers, collection(forest_west_of(edge), name="member"), name="query wins")
    assert by_query["name"] == "query wins"

    buyer_org = await actors.organization("buyer", "Buyer layers")
    buyer = await actors.headers("buyer", buyer_org["id"])
    listed = await registry.get("/v1/forest-layers", params={"limit": 500}, headers=buyer)
    assert listed.status_code == 200
    mine = [item for item in listed.json()["items"] if item["id"] == layer["id"]]
    assert mine and "features" not in mine[0] and "geometry" not in mine[0]

    response = await registry.get(f"/v1/forest-layers/{layer['id']}", headers=buyer)
    assert response.status_code == 200, response.text
    geojson = response.json()
    assert geojson["type"] == "FeatureCollection" and geojson["name"] == "INFOR 2024"
    assert [f["geometry"] for f in geojson["features"]] == [f["geometry"] for f in document["features"]]
    assert [f["properties"] for f in geojson["features"]] == [{"n": 0}, {"n": 1}]

    missing = await registry.get(f"/v1/forest-layers/{uuid.uuid4()}", headers=buyer)
    assert missing.status_code == 404


async def test_invalid_forest_layers_are_refused_and_nothing_is_written(registry, admin_headers):
    bad_second = collection(forest_west_of(119.0), {"type": "Polygon", "coordinates": [ring(119.0, 94.0, 119.1, 95.0)]},
                            name="bad second")
    response = await registry.post("/v1/forest-layers", json=bad_second, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fields(response) and all(f.startswith("features.1.geometry.coordinates") for f in fields(response))

    bowtie = {"type": "Polygon", "coordinates": [[[119, 0], [119.1, 0.1], [119.1, 0], [119, 0.1], [119, 0]]]}
    cases = {
        "empty": ({"type": "FeatureCollection", "features": [], "name": "empty"}, ["features"]),
        "point": (collection(point(119, 0), name="point"), ["features.0.geometry.type"]),
        "bowtie": (collection(bowtie, name="bowtie"), ["features.0.geometry.coordinates"]),
        "no geometry": ({"type": "FeatureCollection", "name": "nogeom", "features": [{"type": "Feature"}]},
                        ["features.0.geometry"]),
        "not a collection": ({"type": "Feature", "geometry": forest_west_of(119.0), "name": "feature"}, ["type", "features"]),
        "bad properties": ({"type": "FeatureCollection", "name": "props", "features": [
            {"type": "Feature", "geometry": forest_west_of(119.0), "properties": [1]}]}, ["features.0.properties"]),
        "list": ([1, 2], ["body"]),
    }
    for label, (document, expected) in cases.items():
        response = await registry.post("/v1/forest-layers", json=document, headers=admin_headers)
        assert response.status_code == 422, (label, response.text)
        assert fields(response) == expected, (label, response.text)

    malformed = await registry.post("/v1/forest-layers", content=b'{"type": "FeatureCollection", "features": [',
                                    headers={**admin_headers, "Content-Type": "application/geo+json"})
    assert malformed.status_code == 422 and fields(malformed) == ["body"]
    deep = await registry.post("/v1/forest-layers", content=b"[" * 100_000 + b"]" * 100_000, headers=admin_headers)
    assert deep.status_code == 422
    for content, expected in [
        (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"a": NaN}, "geometry": %s}]}',
         ["body"]),
        (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"a": [1e400]}, "geometry": %s}]}',
         ["features.0.properties"]),
        (b'{"type": "FeatureCollection", "name": "\\u0000", "features": [{"type": "Feature", "geometry": %s}]}',
         ["name"]),
    ]:
        body = content % json.dumps(forest_west_of(119.0)).encode()
        response = await registry.post("/v1/forest-layers", content=body, headers=admin_headers)
        assert response.status_code == 422 and fields(response) == expected, response.text
    huge_number = await registry.post("/v1/forest-layers", content=b'{"features": [' + b"9" * 10_000 + b"]}",
                                      headers=admin_headers)
    assert huge_number.status_code == 422

    names = await layer_names(registry, admin_headers)
    assert not {"bad second", "empty", "point", "bowtie", "nogeom", "feature", "props"} & set(names)


async def test_forest_layer_limits(registry, admin_headers, monkeypatch):
    monkeypatch.setattr(service, "MAX_LAYER_FEATURES", 2)
    three = collection(*(forest_west_of(119.5, LAT + i) for i in range(3)), name="three")
    response = await registry.post("/v1/forest-layers", json=three, headers=admin_headers)
    assert response.status_code == 422 and fields(response) == ["features"]

    monkeypatch.setattr(service, "MAX_LAYER_BYTES", 100)
    response = await registry.post("/v1/forest-layers", json=collection(forest_west_of(119.5), name="big"), headers=admin_headers)
    assert response.status_code == 413, response.text
    assert not {"three", "big"} & set(await layer_names(registry, admin_headers))


async def test_only_admins_upload_forest_layers(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop no upload")
    certifier = await actors.headers("certifier", (await actors.organization("certification_body"))["id"])
    authority = await actors.headers("authority")
    for headers in (manager, certifier, authority):
        response = await registry.post("/v1/forest-layers", json=collection(forest_west_of(121.0)), headers=headers)
        assert response.status_code == 403, response.text
    assert (await registry.post("/v1/forest-layers", json=collection(forest_west_of(121.0)))).status_code == 401


# --- sites: validation ---------------------------------------------------------------------


async def test_invalid_sites_are_refused_and_nothing_is_written(registry, admin_headers, actors):
    cooperative, manager = await actors.cooperative_manager("Coop invalid")
    buyer_org = await actors.organization("buyer", "Not a cooperative")
    bowtie = {"type": "Polygon", "coordinates": [[[123, 0], [123.1, 0.1], [123.1, 0], [123, 0.1], [123, 0]]]}
    polygon_lat_95 = {"type": "Polygon", "coordinates": [[[123, 0], [123.1, 0], [123.1, 95], [123, 0]]]}
    cases = [
        (bowtie, ["geometry.coordinates"]),
        (point(123, 95), ["geometry.coordinates"]),
        (polygon_lat_95, ["geometry.coordinates.0.2"]),
        ({"type": "Circle", "coordinates": [123, 0]}, ["geometry.type"]),
        ({"type": "MultiPolygon", "coordinates": [[ring(123, 0, 123.1, 0.1)]]}, ["geometry.type"]),
        ({"type": "Point"}, ["geometry.coordinates"]),
        ({"type": "Point", "coordinates": ["a", 1]}, ["geometry.coordinates"]),
        ({"type": "Polygon", "coordinates": [[[123, 0], [123.1, 0], [123, 0]]]}, ["geometry.coordinates.0"]),
        ("POINT (123 0)", ["geometry"]),
    ]
    for geometry, expected in cases:
        response = await registry.post("/v1/sites", json=site_body(cooperative["id"], geometry), headers=manager)
        assert response.status_code == 422, (geometry, response.text)
        assert fields(response) == expected, (geometry, response.text)
    lat_95 = await registry.post("/v1/sites", json=site_body(cooperative["id"], point(123, 95)), headers=manager)
    assert "latitude" in lat_95.json()["errors"][0]["reason"]

    as_buyer = await registry.post("/v1/sites", json=site_body(buyer_org["id"], point(123, 0)), headers=admin_headers)
    assert as_buyer.status_code == 422 and fields(as_buyer) == ["cooperative_id"]
    nobody = await registry.post("/v1/sites", json=site_body(str(uuid.uuid4()), point(123, 0)), headers=admin_headers)
    assert nobody.status_code == 422 and fields(nobody) == ["cooperative_id"]

    other_bad = [
        ({"method": "dredging"}, ["method"]),
        ({"minerals": []}, ["minerals"]),
        ({"capacity_kg_per_month": "-1"}, ["capacity_kg_per_month"]),
        ({"capacity_kg_per_month": "NaN"}, ["capacity_kg_per_month"]),
        ({"status": None}, ["status"]),
        ({"name": " "}, ["name"]),
    ]
    for extra, expected in other_bad:
        response = await registry.post("/v1/sites", json=site_body(cooperative["id"], point(123, 0), **extra), headers=manager)
        assert response.status_code == 422, (extra, response.text)
        assert fields(response) == expected, (extra, response.text)

    nasty = [({"name": "a\u0000b"}, ["name"]), ({"title_number": "\u0007"}, ["title_number"]),
             ({"minerals": ["gold\u0000"]}, ["minerals.0"])]
    for extra, expected in nasty:
        response = await registry.post("/v1/sites", json=site_body(cooperative["id"], point(123, 0), **extra), headers=manager)
        assert response.status_code == 422, (extra, response.text)
        assert fields(response) == expected, (extra, response.text)
    raw = ('{"cooperative_id": "%s", "name": "x", "minerals": ["gold"], "method": "other",'
           ' "geometry": {"type": "Point", "coordinates": [123, NaN]}}' % cooperative["id"])
    response = await registry.post("/v1/sites", content=raw, headers={**manager, "Content-Type": "application/json"})
    assert response.status_code == 422 and fields(response) == ["geometry.coordinates"], response.text
    surrogate = json.dumps(site_body(cooperative["id"], point(123, 0), name="a\ud800"))  # ASCII, escaped
    response = await registry.post("/v1/sites", content=surrogate, headers={**manager, "Content-Type": "application/json"})
    assert response.status_code == 422 and fields(response) == ["name"], response.text

    listed = await registry.get("/v1/sites", params={"cooperative_id": cooperative["id"]}, headers=admin_headers)
    assert listed.json()["items"] == []


async def test_only_type_and_coordinates_of_a_site_geometry_are_kept(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop foreign members")
    raw = ('{"cooperative_id": "%s", "name": "x", "minerals": ["gold"], "method": "other",'
           ' "geometry": {"type": "Point", "coordinates": [123.5, 1], "bbox": [NaN], "x": {"y": Infinity}}}' % cooperative["id"])
    response = await registry.post("/v1/sites", content=raw, headers={**manager, "Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["geometry"] == point(123.5, 1)


async def test_site_fields_and_patch_validation(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop fields")
    body = site_body(cooperative["id"], {"type": "Point", "coordinates": [125.0, LAT, 1850.5]},
                     minerals=[" Gold ", "silver", "gold"], title_number="T-1", title_expires_on="2030-01-31",
                     capacity_kg_per_month="12.500")
    site = await create_site(registry, manager, body)
    assert site["status"] == "active"
    assert site["minerals"] == ["gold", "silver"]
    assert site["capacity_kg_per_month"] == "12.5"
    assert (site["title_number"], site["title_expires_on"]) == ("T-1", "2030-01-31")
    assert site["geometry"]["coordinates"] == [125.0, LAT, 1850.5]

    url = f"/v1/sites/{site['id']}"
    for change, expected in [
        ({"name": None}, ["name"]),
        ({"geometry": None}, ["geometry"]),
        ({"minerals": None}, ["minerals"]),
        ({"method": None}, ["method"]),
        ({"status": "open"}, ["status"]),
        ({"geometry": point(200, 0)}, ["geometry.coordinates"]),
        ({"cooperative_id": str(uuid.uuid4())}, ["cooperative_id"]),
    ]:
        response = await registry.patch(url, json=change, headers=manager)
        assert response.status_code == 422, (change, response.text)
        assert fields(response) == expected, (change, response.text)

    response = await registry.patch(url, json={"capacity_kg_per_month": None, "title_number": None, "minerals": ["tin"]},
                                    headers=manager)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["capacity_kg_per_month"], changed["title_number"], changed["minerals"]) == (None, None, ["tin"])
    assert changed["geometry"] == site["geometry"] and changed["name"] == site["name"]
    assert (await get_site(registry, manager, site["id"]))["minerals"] == ["tin"]


# --- sites: authorisation and idempotency --------------------------------------------------


async def test_another_cooperatives_manager_sees_nothing(registry, actors):
    coop_a, manager_a = await actors.cooperative_manager("Coop A sites")
    coop_b, manager_b = await actors.cooperative_manager("Coop B sites")
    site = await create_site(registry, manager_a, site_body(coop_a["id"], point(127.0, LAT)))

    assert (await registry.get(f"/v1/sites/{site['id']}", headers=manager_b)).status_code == 404
    patch = await registry.patch(f"/v1/sites/{site['id']}", json={"name": "Mine now"}, headers=manager_b)
    assert patch.status_code == 404
    for_a = await registry.post("/v1/sites", json=site_body(coop_a["id"], point(127.0, LAT)), headers=manager_b)
    assert for_a.status_code == 404
    nearby = await registry.get(f"/v1/sites/{site['id']}/nearby-forest", headers=manager_b)
    assert nearby.status_code == 404

    own = await create_site(registry, manager_b, site_body(coop_b["id"], point(127.1, LAT)))
    listed = (await registry.get("/v1/sites", params={"limit": 500}, headers=manager_b)).json()
    assert [item["id"] for item in listed["items"]] == [own["id"]]
    filtered = await registry.get("/v1/sites", params={"cooperative_id": coop_a["id"]}, headers=manager_b)
    assert filtered.json()["items"] == []
    assert (await get_site(registry, manager_a, site["id"]))["name"] == "Mina"


async def test_buyers_certifiers_and_authorities_read_but_do_not_write(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop readers")
    site = await create_site(registry, manager, site_body(cooperative["id"], point(129.0, LAT)))
    buyer = await actors.headers("buyer", (await actors.organization("buyer", "Buyer"))["id"])
    certifier = await actors.headers("certifier", (await actors.organization("certification_body", "CB"))["id"])
    authority = await actors.headers("authority")
    for headers in (buyer, certifier, authority):
        assert (await get_site(registry, headers, site["id"]))["id"] == site["id"]
        listed = await registry.get("/v1/sites", params={"cooperative_id": cooperative["id"]}, headers=headers)
        assert [item["id"] for item in listed.json()["items"]] == [site["id"]]
        created = await registry.post("/v1/sites", json=site_body(cooperative["id"], point(129.0, LAT)), headers=headers)
        assert created.status_code == 403, created.text
        patched = await registry.patch(f"/v1/sites/{site['id']}", json={"name": "x"}, headers=headers)
        assert patched.status_code == 403, patched.text
    assert (await registry.get(f"/v1/sites/{site['id']}")).status_code == 401


async def test_idempotent_replay_creates_one_site(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop idempotent")
    body = site_body(cooperative["id"], point(131.0, LAT))
    headers = {**manager, "Idempotency-Key": f"site-{uuid.uuid4()}"}
    first = await registry.post("/v1/sites", json=body, headers=headers)
    again = await registry.post("/v1/sites", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    listed = await registry.get("/v1/sites", params={"cooperative_id": cooperative["id"]}, headers=manager)
    assert len(listed.json()["items"]) == 1
    different = await registry.post("/v1/sites", json={**body, "name": "Other"}, headers=headers)
    assert different.status_code == 422


async def test_pagination_of_sites(registry, actors):
    cooperative, manager = await actors.cooperative_manager("Coop pages")
    ids = [(await create_site(registry, manager, site_body(cooperative["id"], point(133.0 + i / 100, LAT))))["id"]
           for i in range(3)]
    first = (await registry.get("/v1/sites", params={"limit": 2}, headers=manager)).json()
    second = (await registry.get("/v1/sites", params={"limit": 2, "cursor": first["next_cursor"]}, headers=manager)).json()
    assert [s["id"] for s in first["items"] + second["items"]] == ids and second["next_cursor"] is None


# --- rules without HTTP --------------------------------------------------------------------


def test_visibility_and_write_rules():
    coop, other = uuid.uuid4(), uuid.uuid4()
    manager = Principal("m", Role.coop_manager, coop)
    assert site_scope(manager) == coop
    for role in (Role.admin, Role.authority, Role.service, Role.certifier, Role.buyer):
        assert site_scope(Principal("x", role, uuid.uuid4())) is None
    with pytest.raises(Forbidden):
        site_scope(Principal("m", Role.coop_manager, None))

    ensure_may_write_sites(manager, coop)
    ensure_may_write_sites(Principal("a", Role.admin, None), other)
    with pytest.raises(NotFound):
        ensure_may_write_sites(manager, other)
    for role in (Role.buyer, Role.certifier, Role.authority, Role.service):
        with pytest.raises(Forbidden):
            ensure_may_write_sites(Principal("x", role, coop), coop)

    ensure_may_upload_forest_layer(Principal("a", Role.admin, None))
    with pytest.raises(Forbidden):
        ensure_may_upload_forest_layer(Principal("m", Role.coop_manager, coop))


def test_no_forest_means_no_distance():
    site = service.site_shape(point(10.0, 10.0))
    assert service.forest_distance_km(ForestIndex([]), site) is None


def test_site_geometry_errors_are_prefixed_and_bounded(monkeypatch):
    assert [e.field for e in service.site_geometry_errors({"type": "Point", "coordinates": [0, 91]})] == ["geometry.coordinates"]
    assert service.site_geometry_errors(point(0, 0)) == []
    monkeypatch.setattr(service, "MAX_SITE_POSITIONS", 4)
    big = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    assert [e.field for e in service.site_geometry_errors(big)] == ["geometry.coordinates"]


def test_planar_geometry_drops_altitude():
    assert service.site_shape({"type": "Polygon", "coordinates": [[[0, 0, 5], [1, 0], [1, 1, 2], [0, 0]]]}).equals(
        service.site_shape({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]})
    )
    assert service.site_shape(point(1, 2)).equals(Point(1, 2))
