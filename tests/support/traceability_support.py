"""Traceability fixtures for every suite: parties that hold lots, and the custody steps through the API.

Certified cooperatives come from ``make_group`` and ``flows`` (``tests/support/certification_support``);
``custody`` drives the traceability API as a given party.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from certification_support import ok


@dataclass
class Party:
    """An organisation that takes custody of lots, and the headers of one of its API clients."""

    organization: dict
    headers: dict[str, str]

    @property
    def id(self) -> str:
        return self.organization["id"]


@pytest.fixture
def make_party(actors):
    """``await make_party("trader", name)``: an organisation of that kind with a ``buyer`` API client
    (a cooperative gets a ``coop_manager`` client)."""
    async def make(kind: str = "trader", name: str | None = None) -> Party:
        organization = await actors.organization(kind, name or f"{kind} party")
        role = "coop_manager" if kind == "cooperative" else "buyer"
        return Party(organization, await actors.headers(role, organization["id"]))

    return make


_longitudes = itertools.count()


@pytest.fixture
def make_producer(registry, make_party):
    """``await make_producer(name, capacity_kg_per_month=None)``: a cooperative (as a Party) with one gold site,
    which may declare a monthly capacity."""
    async def make(name: str, capacity_kg_per_month: str | None = None) -> tuple[Party, dict]:
        producer = await make_party("cooperative", name)
        point = {"type": "Point", "coordinates": [-131.0 - 0.01 * next(_longitudes), -10.0]}
        response = await registry.post("/v1/sites", headers=producer.headers, json={
            "cooperative_id": producer.id, "name": f"{name} pit", "geometry": point, "minerals": ["gold"],
            "method": "alluvial", "capacity_kg_per_month": capacity_kg_per_month})
        return producer, ok(response, 201)

    return make


def mass(value: str, unit: str = "kg") -> dict[str, str]:
    return {"value": value, "unit": unit}


class Custody:
    """The custody steps through the traceability API; each returns the response body after checking its status."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def create(self, headers: dict, site: dict, value: str, unit: str = "kg", status: int = 201,
                     **extra: Any) -> dict:
        body = {"site_id": site["id"], "commodity": "gold", "form": "ore", "mass": mass(value, unit),
                "produced_on": date.today().isoformat(), **extra}
        return ok(await self.client.post("/v1/lots", json=body, headers=headers), status)

    async def dispatch(self, headers: dict, lot: dict, to: str, status: int = 201) -> dict:
        return ok(await self.client.post(f"/v1/lots/{lot['id']}/dispatch", json={"to_organization_id": to},
                                         headers=headers), status)

    async def receive(self, headers: dict, transfer: dict, received: dict | None = None, status: int = 200) -> dict:
        body = {} if received is None else {"received_mass": received}
        return ok(await self.client.post(f"/v1/transfers/{transfer['id']}/receive", json=body, headers=headers), status)

    async def hand_over(self, sender: dict, lot: dict, receiver: Party, received: dict | None = None) -> dict:
        """Dispatch and receipt; returns the lot as received."""
        transfer = await self.dispatch(sender, lot, receiver.id)
        return (await self.receive(receiver.headers, transfer, received))["lot"]

    async def split(self, headers: dict, lot: dict, parts: list[dict], loss: dict | None = None,
                    status: int = 201) -> dict:
        body: dict[str, Any] = {"parts": [{"mass": part} for part in parts]}
        if loss is not None:
            body["loss"] = loss
        return ok(await self.client.post(f"/v1/lots/{lot['id']}/split", json=body, headers=headers), status)

    async def merge(self, headers: dict, lots: list[dict], status: int = 201, **extra: Any) -> dict:
        body = {"lot_ids": [lot["id"] for lot in lots], **extra}
        return ok(await self.client.post("/v1/merges", json=body, headers=headers), status)

    async def transform(self, headers: dict, lot: dict, output: dict, form: str = "dore", process: str = "smelting",
                        status: int = 201) -> dict:
        body = {"output_form": form, "output_mass": output, "process": process}
        return ok(await self.client.post(f"/v1/lots/{lot['id']}/transform", json=body, headers=headers), status)

    async def get(self, headers: dict, lot: dict, what: str = "", status: int = 200) -> dict:
        return ok(await self.client.get(f"/v1/lots/{lot['id']}{what}", headers=headers), status)

    async def red_flags(self, headers: dict, **params: Any) -> list[dict]:
        return ok(await self.client.get("/v1/red-flags", headers=headers, params=params))["items"]


@pytest.fixture
def custody(traceability) -> Custody:
    return Custody(traceability)


@pytest.fixture(name="mass")
def mass_fixture():
    """``mass("12.5", "g")`` → ``{"value": "12.5", "unit": "g"}``."""
    return mass
