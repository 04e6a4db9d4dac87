"""Concurrent requests racing for the same lot or transfer: exactly one wins, the others get 409, and no mass
is created, lost or used twice.

The requests run at once on the in-process app (``asyncio.gather``), each on its own database session; on
PostgreSQL they meet at the row (conditional updates), on SQLite at the database's single writer. The same
assertions hold on both.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

import httpx
import pytest
from certification_support import Group, ok

RACERS = 20


@pytest.fixture
async def cooperative(make_group, flows) -> Group:
    """A certified cooperative with one far site; lots made there are certified whole."""
    group = await make_group("Cooperativa Concurrente", members=2, near_forest_members=0)
    await flows.certify(group)
    return group


async def all_pages(client: httpx.AsyncClient, path: str, headers: dict, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        page = ok(await client.get(path, headers=headers, params={**params, "limit": 500,
                                                                   **({"cursor": cursor} if cursor else {})}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def held_active_lots(client: httpx.AsyncClient, headers: dict) -> list[dict]:
    """The active lots the caller's organisation holds now."""
    return await all_pages(client, "/v1/lots", headers, status="active", held_now="true")


def total_kg(lots: list[dict], field: str = "mass_kg") -> Decimal:
    return sum((Decimal(lot[field]) if field == "mass_kg" else Decimal(lot["claims"][field]) for lot in lots),
               Decimal(0))


def outcome(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


def losers_are_conflicts(responses: list[httpx.Response], winning: int) -> None:
    for response in responses:
        if response.status_code != winning:
            assert response.status_code == 409, response.text
            assert response.headers["content-type"].startswith("application/problem+json")


async def assert_no_lot_used_twice(client: httpx.AsyncClient, headers: dict) -> None:
    """Every lot the caller holds or held is the input of at most one event, and of one exactly if consumed."""
    for lot in await all_pages(client, "/v1/lots", headers):
        events = ok(await client.get(f"/v1/lots/{lot['id']}/events", headers=headers))
        used = [event for event in events if any(part["lot_id"] == lot["id"] for part in event["inputs"])]
        assert len(used) == (1 if lot["status"] == "consumed" else 0), (lot, used)


def kinds_of(events: list[dict]) -> list[str]:
    return [event["kind"] for event in events]


async def test_of_simultaneous_splits_of_one_lot_exactly_one_succeeds(cooperative, custody, traceability):
    lot = await custody.create(cooperative.manager, cooperative.far_sites[0], "20",
                               chain_of_custody="mass_balance")
    assert lot["claims"]["certified_mass_kg"] == "20"
    splits = [{"parts": [{"mass": {"value": str(n), "unit": "kg"}}, {"mass": {"value": str(20 - n), "unit": "kg"}}]}
              if n < 20 else {"parts": [{"mass": {"value": "10", "unit": "kg"}}] * 2}
              for n in range(1, RACERS + 1)]

    responses = await asyncio.gather(*(
        traceability.post(f"/v1/lots/{lot['id']}/split", json=body, headers=cooperative.manager) for body in splits))

    assert outcome(responses) == {201: 1, 409: RACERS - 1}, [r.text for r in responses]
    losers_are_conflicts(responses, 201)
    [winner] = [response.json()["lots"] for response in responses if response.status_code == 201]
    active = await held_active_lots(traceability, cooperative.manager)
    assert {lot["id"] for lot in active} == {part["id"] for part in winner}
    assert total_kg(active) == Decimal(20)
    assert total_kg(active, "certified_mass_kg") == Decimal(20)
    assert (await custody.get(cooperative.manager, lot))["status"] == "consumed"
    assert kinds_of(await custody.get(cooperative.manager, lot, "/events")) == ["create", "split"]
    await assert_no_lot_used_twice(traceability, cooperative.manager)


async def test_of_simultaneous_dispatches_of_one_lot_exactly_one_succeeds(cooperative, custody, traceability,
                                                                          make_party):
    traders = [await make_party("trader", f"Comprador {index}") for index in range(2)]
    lot = await custody.create(cooperative.manager, cooperative.far_sites[0], "3.5")

    responses = await asyncio.gather(*(
        traceability.post(f"/v1/lots/{lot['id']}/dispatch", json={"to_organization_id": traders[index % 2].id},
                          headers=cooperative.manager) for index in range(RACERS)))

    assert outcome(responses) == {201: 1, 409: RACERS - 1}, [r.text for r in responses]
    losers_are_conflicts(responses, 201)
    [transfer] = [response.json() for response in responses if response.status_code == 201]
    in_transit = await all_pages(traceability, "/v1/transfers", cooperative.manager, status="in_transit")
    assert [t["id"] for t in in_transit] == [transfer["id"]]
    assert await held_active_lots(traceability, cooperative.manager) == []
    assert kinds_of(await custody.get(cooperative.manager, lot, "/events")) == ["create", "dispatch"]

    receiver = next(trader for trader in traders if trader.id == transfer["to_organization_id"])
    await custody.receive(receiver.headers, transfer)
    received = await held_active_lots(traceability, receiver.headers)
    assert [held["id"] for held in received] == [lot["id"]] and total_kg(received) == Decimal("3.5")


async def test_of_simultaneous_merges_sharing_one_lot_exactly_one_succeeds(cooperative, custody, traceability):
    site = cooperative.far_sites[0]
    shared = await custody.create(cooperative.manager, site, "1")
    others = [await custody.create(cooperative.manager, site, str(index + 2)) for index in range(10)]
    original_kg = Decimal(1) + sum(Decimal(index + 2) for index in range(10))

    responses = await asyncio.gather(*(
        traceability.post("/v1/merges", json={"lot_ids": [shared["id"], other["id"]]}, headers=cooperative.manager)
        for other in others))

    assert outcome(responses) == {201: 1, 409: len(others) - 1}, [r.text for r in responses]
    losers_are_conflicts(responses, 201)
    [merged] = [response.json() for response in responses if response.status_code == 201]
    [partner] = [other for other in others if Decimal(other["mass_kg"]) + 1 == Decimal(merged["mass_kg"])]
    active = await held_active_lots(traceability, cooperative.manager)
    assert {lot["id"] for lot in active} == {merged["id"]} | {o["id"] for o in others if o is not partner}
    assert total_kg(active) == original_kg
    assert total_kg(active, "certified_mass_kg") == original_kg
    for other in others:
        events = kinds_of(await custody.get(cooperative.manager, other, "/events"))
        assert events == (["create", "merge"] if other is partner else ["create"])
    await assert_no_lot_used_twice(traceability, cooperative.manager)


async def test_of_two_clients_receiving_one_transfer_at_once_exactly_one_succeeds(
        cooperative, custody, traceability, make_party, actors):
    trader = await make_party("trader", "Comprador Doble")
    colleague = await actors.headers("buyer", trader.id)
    lot = await custody.create(cooperative.manager, cooperative.far_sites[0], "2.25")
    transfer = await custody.dispatch(cooperative.manager, lot, trader.id)

    responses = await asyncio.gather(*(
        traceability.post(f"/v1/transfers/{transfer['id']}/receive", json={}, headers=headers)
        for headers in (trader.headers, colleague)))

    assert outcome(responses) == {200: 1, 409: 1}, [r.text for r in responses]
    losers_are_conflicts(responses, 200)
    active = await held_active_lots(traceability, trader.headers)
    assert [held["id"] for held in active] == [lot["id"]] and total_kg(active) == Decimal("2.25")
    assert kinds_of(await custody.get(trader.headers, lot, "/events")) == ["create", "dispatch", "receive"]
    assert ok(await traceability.get(f"/v1/transfers/{transfer['id']}", headers=trader.headers))["status"] == "received"
