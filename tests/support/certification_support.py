"""Fixtures for suites that need certified groups: the example standards published, whole groups in the registry,
and helpers (a pytest plugin, loaded by the root conftest).

Forest layers are global to the shared registry, so every group here puts its forest
in a longitude band of its own at latitude 10°N (the registry tests use 20°S).

Test modules cannot import one another (pytest runs with ``--import-mode=importlib``), so the helpers they share
come as fixtures: ``ok`` and ``problem`` check a response, ``flows`` takes a certification through the API (open,
audit, certify, decide…, and builds audit results: ``flows.results_for``, ``flows.indicators``), and ``add_member``
lets a miner join a group later.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

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


def problem(response: httpx.Response, status: int, *, complete: bool = False) -> dict:
    """The problem body of an error response; ``complete`` also checks that it carries its status, title and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    if complete:
        assert body["status"] == status and body["title"] and body["type"]
    return body


def indicators(document: dict) -> list[dict]:
    return [i for p in document["principles"] for c in p["criteria"] for i in c["indicators"]]


def results_for(documents: list[dict], audit: dict, sites: list[dict], unmet_levels: Collection[str] = ("leading",),
                unmet_codes: Collection[str] = ()) -> list[dict]:
    """One result per indicator and subject: met, except the levels and codes named, which are not met."""
    results = []
    for document in documents:
        for indicator in indicators(document):
            unmet = indicator["level"] in unmet_levels or indicator["code"] in unmet_codes
            base = {"indicator": indicator["code"], "outcome": "not_met" if unmet else "met"}
            if indicator["scope"] == "group":
                results.append(base)
            elif indicator["scope"] == "member":
                results += [{**base, "member_id": member} for member in audit["sample"]]
            else:
                results += [{**base, "site_id": site["id"]} for site in sites]
    return results


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
    def sites(self) -> list[dict]:
        return [self.near_site, *self.far_sites]

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
            group.members.append(await register_member(registry, group, f"Miner {index}", site_id, joined))
        return group

    return make


async def register_member(registry: httpx.AsyncClient, group: Group, name: str, site_id: str | None, joined_on: str,
                          gender: str | None = None, birth_date: str = "1990-05-01") -> dict:
    """A miner joins the group; without a gender given, it follows the length of the name."""
    return ok(await registry.post("/v1/miners", headers=group.manager, json={
        "full_name": name, "gender": gender or ("female" if len(name) % 2 else "male"), "birth_date": birth_date,
        "cooperative_id": group.cooperative["id"], "site_id": site_id, "joined_on": joined_on}), 201)


@pytest.fixture
def add_member(registry):
    """``await add_member(group, name, site_id, joined_on, gender=…, birth_date=…)``: a miner joins the group."""
    async def add(group: Group, name: str, site_id: str | None, joined_on: str, **details: str) -> dict:
        return await register_member(registry, group, name, site_id, joined_on, **details)

    return add


@pytest.fixture(name="ok")
def ok_fixture():
    """``ok(response, status=200)``: asserts the status and returns the JSON body."""
    return ok


@pytest.fixture(name="problem")
def problem_fixture():
    """``problem(response, status, complete=False)``: asserts an RFC 9457 problem response and returns its body."""
    return problem


class Certified(NamedTuple):
    certification: dict  # as the certify decision returned it
    path: str
    audit: dict  # the initial audit, as drawn


class CertificationFlows:
    """The steps of a certification through the API, as the group's certifier, with the example standards."""

    indicators = staticmethod(indicators)
    results_for = staticmethod(results_for)

    def __init__(self, certification: httpx.AsyncClient, example_standards: list[dict]) -> None:
        self.certification, self.example_standards = certification, example_standards

    async def open(self, group: Group) -> tuple[dict, str]:
        """Opens the group's certification; returns it and its path."""
        opened = ok(await self.certification.post("/v1/certifications", json=group.certification_body(),
                                                  headers=group.certifier), 201)
        return opened, f"/v1/certifications/{opened['id']}"

    async def new_audit(self, group: Group, path: str, kind: str = "initial", **extra) -> dict:
        return ok(await self.certification.post(f"{path}/audits", json={"kind": kind, **extra},
                                                headers=group.certifier), 201)

    async def record(self, group: Group, audit: dict, results: list[dict]) -> httpx.Response:
        return await self.certification.post(f"/v1/audits/{audit['id']}/results", json=results,
                                             headers=group.certifier)

    async def record_results(self, group: Group, audit: dict, unmet_levels: Collection[str] = ("leading",)) -> None:
        """Records a result for every indicator of the example standards: met, except the levels named."""
        ok(await self.record(group, audit, results_for(self.example_standards, audit, group.sites, unmet_levels)), 201)

    async def close(self, group: Group, audit: dict) -> dict:
        return ok(await self.certification.post(f"/v1/audits/{audit['id']}/close", headers=group.certifier))

    async def audit_and_close(self, group: Group, path: str, unmet_levels: Collection[str] = ("leading",)) -> dict:
        """Draws an initial audit, records its results (everything met but the levels named) and closes it."""
        audit = await self.new_audit(group, path)
        await self.record_results(group, audit, unmet_levels)
        return await self.close(group, audit)

    async def certify(self, group: Group, **audit_options) -> Certified:
        """Opens the group's certification, audits it (everything met but leading) and certifies it."""
        _, path = await self.open(group)
        audit = await self.new_audit(group, path, **audit_options)
        await self.record_results(group, audit)
        await self.close(group, audit)
        return Certified(await self.decide(group, path, "certify"), path, audit)

    async def decide(self, group: Group, path: str, decision: str, reason: str | None = None) -> dict:
        """Takes the decision (sending a reason only when one is given) and returns the certification."""
        body = {"decision": decision} if reason is None else {"decision": decision, "reason": reason}
        return ok(await self.certification.post(f"{path}/decision", json=body, headers=group.certifier))

    async def refused(self, group: Group, path: str, decision: str) -> dict:
        return problem(await self.certification.post(f"{path}/decision", json={"decision": decision},
                                                     headers=group.certifier), 409)

    async def history(self, group: Group, path: str) -> list[dict]:
        return ok(await self.certification.get(f"{path}/history", headers=group.certifier))

    async def status(self, **params) -> dict:
        return ok(await self.certification.get("/v1/status", params=params))


@pytest.fixture
def flows(certification, example_standards) -> CertificationFlows:
    return CertificationFlows(certification, example_standards)
