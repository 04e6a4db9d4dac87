"""Fixtures for the certification suite: the example standards published, and whole groups in the registry.

Forest layers are global to the shared registry, so every group here puts its forest
in a longitude band of its own at latitude 10°N (the registry tests use 20°S).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import httpx
import pytest
from pyproj import Geod

from minka_certification.standards.service import EXAMPLE_FILES, EXAMPLES

GEOD = Geod(ellps="WGS84")
LAT = 10.0
BASE = {"code": "MINKA-ASM", "version": "1.0"}
FOREST_SMART = {"code": "FOREST-SMART", "version": "1.0"}
_bands = itertools.count()


def east_of(lon: float, km: float) -> float:
    return GEOD.fwd(lon, LAT, 90, km * 1000)[0]


def forest_west_of(edge_lon: float) -> dict:
    square = [[edge_lon - 0.05, LAT - 0.05], [edge_lon, LAT - 0.05], [edge_lon, LAT + 0.05],
              [edge_lon - 0.05, LAT + 0.05], [edge_lon - 0.05, LAT - 0.05]]
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [square]}}]}


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="session")
async def example_standards(certification, admin_headers) -> list[dict]:
    """The two bundled example standards, published through the API (once per session)."""
    documents = [json.loads((EXAMPLES / name).read_text()) for name in EXAMPLE_FILES]
    for document in documents:
        response = await certification.post("/v1/standards", json=document, headers=admin_headers)
        assert response.status_code in (201, 409), response.text
    return documents


@dataclass
class Group:
    """A cooperative in the registry with sites (one near forest) and members, and a certification body."""

    cooperative: dict
    manager: dict[str, str]
    body: dict
    certifier: dict[str, str]
    near_site: dict
    far_sites: list[dict]
    members: list[dict] = field(default_factory=list)

    @property
    def near_forest_members(self) -> set[str]:
        return {m["id"] for m in self.members if m.get("site_id") == self.near_site["id"]}

    def certification_body(self, **extra) -> dict:
        return {"cooperative_id": self.cooperative["id"], "standard": BASE, "bolt_ons": [FOREST_SMART],
                "certification_body_id": self.body["id"], **extra}


@pytest.fixture
def make_group(registry, admin_headers, actors):
    async def make(name: str, members: int = 40, near_forest_members: int = 5,
                   joined_on: date | None = None) -> Group:
        edge = -60.0 - 0.5 * next(_bands)
        ok(await registry.post("/v1/forest-layers", json=forest_west_of(edge), params={"name": name},
                               headers=admin_headers), 201)
        cooperative, manager = await actors.cooperative_manager(name)
        body = await actors.organization("certification_body", f"{name} certifiers")
        certifier = await actors.headers("certifier", body["id"])

        async def site(km: float, label: str) -> dict:
            geometry = {"type": "Point", "coordinates": [east_of(edge, km), LAT]}
            return ok(await registry.post("/v1/sites", headers=manager, json={
                "cooperative_id": cooperative["id"], "name": label, "geometry": geometry, "minerals": ["gold"],
                "method": "alluvial"}), 201)

        group = Group(cooperative, manager, body, certifier, await site(2.0, "Near forest"),
                      [await site(25.0, "Far one"), await site(30.0, "Far two")])
        joined = (joined_on or date.today() - timedelta(days=365)).isoformat()
        for index in range(members):
            site_id = group.near_site["id"] if index < near_forest_members else group.far_sites[index % 2]["id"]
            group.members.append(await add_member(registry, group, f"Miner {index}", site_id, joined))
        return group

    return make


async def add_member(registry: httpx.AsyncClient, group: Group, name: str, site_id: str | None, joined_on: str) -> dict:
    return ok(await registry.post("/v1/miners", headers=group.manager, json={
        "full_name": name, "gender": "female" if len(name) % 2 else "male", "birth_date": "1990-05-01",
        "cooperative_id": group.cooperative["id"], "site_id": site_id, "joined_on": joined_on}), 201)
