"""Who may read and act on lots, transfers and red flags, always tried with the wrong tenant too.

A lot the caller may not read is reported as missing (404), one it may read but not act on is a 403: a
cooperative and a buyer read the lots their organisation holds or held and everything upstream of them;
only the current custodian splits, merges, transforms or dispatches, and only the named receiver receives.
Admin, authority and service read everything and act on nothing.

The organisations are made once for the module (tokens are slow to issue); every test makes lots of its own,
so a listing is checked for the lots of the test, never for being empty.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pytest

LOT_VIEWS = ("", "/events", "/provenance", "/downstream", "/epcis")
"""Every read of one lot: itself, its events, its up- and downstream graphs, its EPCIS document."""
UNSCOPED = ("admin", "authority", "service")


@dataclass
class Holder:
    """An organisation that holds lots, and the headers of its API client (``custody.hand_over`` takes one)."""

    organization: dict
    headers: dict[str, str]
    site: dict | None = None

    @property
    def id(self) -> str:
        return self.organization["id"]


@dataclass
class World:
    coop_a: Holder
    coop_b: Holder
    x: Holder
    y: Holder
    z: Holder
    certifier: dict[str, str]
    unscoped: dict[str, dict[str, str]]


async def cooperative(actors, registry, name: str, longitude: float) -> Holder:
    """A cooperative with one active gold site at 10°N (a longitude band of this module's own)."""
    organization, manager = await actors.cooperative_manager(name)
    response = await registry.post("/v1/sites", headers=manager, json={
        "cooperative_id": organization["id"], "name": f"{name} pit", "minerals": ["gold"], "method": "alluvial",
        "geometry": {"type": "Point", "coordinates": [longitude, 10.0]}})
    assert response.status_code == 201, response.text
    return Holder(organization, manager, response.json())


async def buyer(actors, kind: str, name: str) -> Holder:
    organization = await actors.organization(kind, name)
    return Holder(organization, await actors.headers("buyer", organization["id"]))


@pytest.fixture(scope="module")
async def world(actors, registry) -> World:
    body = await actors.organization("certification_body", "Authz certifiers")
    return World(
        coop_a=await cooperative(actors, registry, "Authz A", -101.1),
        coop_b=await cooperative(actors, registry, "Authz B", -101.3),
        x=await buyer(actors, "trader", "Authz X"),
        y=await buyer(actors, "trader", "Authz Y"),
        z=await buyer(actors, "refiner", "Authz Z"),
        certifier=await actors.headers("certifier", body["id"]),
        unscoped={role: await actors.headers(role) for role in UNSCOPED},
    )


async def create(custody, coop: Holder, value: str = "1") -> dict:
    return await custody.create(coop.headers, coop.site, value)


async def assert_readable(traceability, headers: dict, lot: dict) -> None:
    for view in LOT_VIEWS:
        response = await traceability.get(f"/v1/lots/{lot['id']}{view}", headers=headers)
        assert response.status_code == 200, (view, response.text)


async def assert_hidden(traceability, problem, headers: dict, lot: dict) -> None:
    for view in LOT_VIEWS:
        problem(await traceability.get(f"/v1/lots/{lot['id']}{view}", headers=headers), 404)


async def listed(traceability, headers: dict, path: str = "/v1/lots", **params) -> list[dict]:
    """Every item of a listing, following the cursor through every page."""
    items: list[dict] = []
    cursor = None
    while True:
        page_params = {"limit": 500, **params, **({"cursor": cursor} if cursor else {})}
        response = await traceability.get(path, headers=headers, params=page_params)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


async def listed_ids(traceability, headers: dict, path: str = "/v1/lots", **params) -> set[str]:
    return {item["id"] for item in await listed(traceability, headers, path, **params)}


# --- origin lots -------------------------------------------------------------------------------------------------


async def test_only_a_manager_of_the_sites_cooperative_creates_origin_lots(world, custody, traceability, problem, mass):
    body = {"site_id": world.coop_a.site["id"], "commodity": "gold", "form": "ore", "mass": mass("1"),
            "produced_on": date.today().isoformat()}
    before = await listed_ids(traceability, world.unscoped["admin"])

    refused = problem(await traceability.post("/v1/lots", json=body, headers=world.coop_b.headers), 422)
    assert refused["errors"] == [{"field": "site_id", "reason": "not a site of your cooperative"}]
    for headers in (world.x.headers, world.certifier, *world.unscoped.values()):
        problem(await traceability.post("/v1/lots", json=body, headers=headers), 403)
    problem(await traceability.post("/v1/lots", json=body), 401)
    assert await listed_ids(traceability, world.unscoped["admin"]) == before

    created = await create(custody, world.coop_a)
    assert created["custodian_id"] == world.coop_a.id
    assert created["origin"]["site_id"] == world.coop_a.site["id"]
    assert await listed_ids(traceability, world.unscoped["admin"]) == before | {created["id"]}


# --- reading -----------------------------------------------------------------------------------------------------


async def test_a_cooperative_reads_only_the_lots_it_holds_or_held(world, custody, traceability, problem):
    a1, b1 = await create(custody, world.coop_a), await create(custody, world.coop_b)

    await assert_readable(traceability, world.coop_a.headers, a1)
    await assert_hidden(traceability, problem, world.coop_a.headers, b1)
    await assert_hidden(traceability, problem, world.coop_b.headers, a1)
    listed_by_a, listed_by_b = [await listed_ids(traceability, coop.headers) for coop in (world.coop_a, world.coop_b)]
    assert a1["id"] in listed_by_a and b1["id"] not in listed_by_a
    assert b1["id"] in listed_by_b and a1["id"] not in listed_by_b

    await custody.hand_over(world.coop_a.headers, a1, world.x)
    await assert_readable(traceability, world.coop_a.headers, a1)
    assert a1["id"] in await listed_ids(traceability, world.coop_a.headers)
    assert a1["id"] not in await listed_ids(traceability, world.coop_a.headers, held_now="true")
    await assert_hidden(traceability, problem, world.coop_b.headers, a1)
    assert a1["id"] not in await listed_ids(traceability, world.coop_b.headers)


async def test_a_buyer_reads_what_it_holds_or_held_and_their_whole_upstream(world, custody, traceability, problem):
    a1, a2 = await create(custody, world.coop_a), await create(custody, world.coop_a, "2")
    held = [await custody.hand_over(world.coop_a.headers, lot, world.x) for lot in (a1, a2)]
    merged = await custody.merge(world.x.headers, held)
    chain = {a1["id"], a2["id"], merged["id"]}

    for lot in (a1, a2, merged):
        await assert_hidden(traceability, problem, world.y.headers, lot)
        await assert_hidden(traceability, problem, world.z.headers, lot)
    assert chain <= await listed_ids(traceability, world.x.headers)
    assert not chain & await listed_ids(traceability, world.y.headers)

    await custody.hand_over(world.x.headers, merged, world.z)
    for lot in (a1, a2, merged):
        await assert_readable(traceability, world.z.headers, lot)
        await assert_readable(traceability, world.x.headers, lot)
        await assert_hidden(traceability, problem, world.y.headers, lot)
    provenance = await traceability.get(f"/v1/lots/{merged['id']}/provenance", headers=world.z.headers)
    assert {origin["lot_id"] for origin in provenance.json()["origins"]} == {a1["id"], a2["id"]}
    # The buyer reads the origin lots, but lists only the lot it held.
    assert chain & await listed_ids(traceability, world.z.headers) == {merged["id"]}
    assert not chain & await listed_ids(traceability, world.x.headers, held_now="true")  # consumed or sold
    assert not chain & await listed_ids(traceability, world.y.headers)


async def test_downstream_shows_only_what_the_caller_may_read(world, custody, traceability, problem):
    a1, b1 = await create(custody, world.coop_a), await create(custody, world.coop_b)
    held = [await custody.hand_over(coop.headers, lot, world.x) for coop, lot in ((world.coop_a, a1), (world.coop_b, b1))]
    merged = await custody.merge(world.x.headers, held)

    downstream = await custody.get(world.coop_a.headers, a1, "/downstream")
    assert [lot["id"] for lot in downstream["lots"]] == [a1["id"]]
    assert merged["id"] not in str(downstream["events"])
    problem(await traceability.get(f"/v1/lots/{merged['id']}", headers=world.coop_a.headers), 404)
    await assert_hidden(traceability, problem, world.coop_a.headers, b1)
    by_trader = await custody.get(world.x.headers, a1, "/downstream")
    assert {lot["id"] for lot in by_trader["lots"]} == {a1["id"], merged["id"]}


async def test_a_buyer_of_one_part_does_not_read_the_other_parts(world, custody, traceability, problem, mass):
    held = await custody.hand_over(world.coop_a.headers, await create(custody, world.coop_a, "3"), world.x)
    first, second = (await custody.split(world.x.headers, held, [mass("1"), mass("2")]))["lots"]
    bought = await custody.hand_over(world.x.headers, first, world.z)

    await assert_readable(traceability, world.z.headers, bought)
    await assert_readable(traceability, world.z.headers, held)
    await assert_hidden(traceability, problem, world.z.headers, second)
    assert second["id"] not in await listed_ids(traceability, world.z.headers)


async def test_after_a_sale_the_seller_still_reads_the_lot_the_buyer_reads_it_and_nobody_else(
    world, custody, traceability, problem
):
    a1 = await create(custody, world.coop_a)
    held = await custody.hand_over(world.coop_a.headers, a1, world.x)
    sold = await custody.hand_over(world.x.headers, held, world.z)

    assert sold["custodian_id"] == world.z.id
    await assert_readable(traceability, world.x.headers, sold)
    await assert_readable(traceability, world.z.headers, sold)
    await assert_hidden(traceability, problem, world.y.headers, sold)
    assert a1["id"] in await listed_ids(traceability, world.x.headers)
    assert a1["id"] not in await listed_ids(traceability, world.x.headers, held_now="true")
    assert a1["id"] in await listed_ids(traceability, world.z.headers, held_now="true")
    assert a1["id"] not in await listed_ids(traceability, world.y.headers)


# --- transfers ---------------------------------------------------------------------------------------------------


async def test_the_named_receiver_reads_the_lot_in_transit_and_alone_receives_it(
    world, custody, traceability, problem, mass
):
    a1 = await create(custody, world.coop_a)
    transfer = await custody.dispatch(world.coop_a.headers, a1, world.x.id)

    in_transit = await custody.get(world.x.headers, a1)
    assert in_transit["status"] == "in_transit" and in_transit["custodian_id"] == world.coop_a.id
    await assert_readable(traceability, world.x.headers, a1)
    await assert_hidden(traceability, problem, world.y.headers, a1)
    # Named, but not yet the custodian: it may read, not act.
    problem(await traceability.post(f"/v1/lots/{a1['id']}/split", headers=world.x.headers,
                                    json={"parts": [{"mass": mass("0.5")}, {"mass": mass("0.5")}]}), 403)

    receive = f"/v1/transfers/{transfer['id']}/receive"
    problem(await traceability.post(receive, json={}, headers=world.coop_a.headers), 403)
    for stranger in (world.y.headers, world.coop_b.headers):
        problem(await traceability.post(receive, json={}, headers=stranger), 404)
        problem(await traceability.get(f"/v1/transfers/{transfer['id']}", headers=stranger), 404)
    for headers in world.unscoped.values():
        problem(await traceability.post(receive, json={}, headers=headers), 403)
    assert (await custody.get(world.coop_a.headers, a1))["status"] == "in_transit"

    received = await custody.receive(world.x.headers, transfer)
    assert received["status"] == "received" and received["lot"]["custodian_id"] == world.x.id


async def test_transfers_are_listed_only_to_the_sender_and_the_receiver(world, custody, traceability, problem):
    to_x = await custody.dispatch(world.coop_a.headers, await create(custody, world.coop_a), world.x.id)
    to_y = await custody.dispatch(world.coop_b.headers, await create(custody, world.coop_b), world.y.id)

    for party, own, other in ((world.coop_a, to_x, to_y), (world.x, to_x, to_y), (world.coop_b, to_y, to_x),
                              (world.y, to_y, to_x), (world.z, None, to_x)):
        transfers = await listed(traceability, party.headers, "/v1/transfers")
        assert all(party.id in (t["from_organization_id"], t["to_organization_id"]) for t in transfers)
        ids = {t["id"] for t in transfers}
        assert other["id"] not in ids and (own is None or own["id"] in ids)
    for headers in (world.coop_b.headers, world.y.headers, world.z.headers):
        problem(await traceability.get(f"/v1/transfers/{to_x['id']}", headers=headers), 404)
    for headers in world.unscoped.values():
        assert {to_x["id"], to_y["id"]} <= await listed_ids(traceability, headers, "/v1/transfers", status="in_transit")
        assert (await traceability.get(f"/v1/transfers/{to_x['id']}", headers=headers)).status_code == 200


# --- acting ------------------------------------------------------------------------------------------------------


def actions(lot: dict, other_lot: dict, mass) -> dict[str, tuple[str, dict]]:
    """Each custodian-only action on ``lot`` as (path, body); the merge names ``other_lot`` first."""
    return {
        "split": (f"/v1/lots/{lot['id']}/split", {"parts": [{"mass": mass("0.5")}, {"mass": mass("0.5")}]}),
        "transform": (f"/v1/lots/{lot['id']}/transform",
                      {"output_form": "dore", "output_mass": mass("0.9"), "process": "smelting"}),
        "dispatch": (f"/v1/lots/{lot['id']}/dispatch", {"to_organization_id": str(uuid.uuid4())}),
        "merge": ("/v1/merges", {"lot_ids": [other_lot["id"], lot["id"]]}),
    }


async def test_a_former_holder_may_not_act_on_a_lot(world, custody, traceability, problem, mass):
    a1, a2 = await create(custody, world.coop_a), await create(custody, world.coop_a)
    await custody.hand_over(world.coop_a.headers, a1, world.x)

    for name, (path, body) in actions(a1, a2, mass).items():
        refused = problem(await traceability.post(path, json=body, headers=world.coop_a.headers), 403)
        assert "custodian" in refused["detail"], name
    assert (await custody.get(world.coop_a.headers, a2))["status"] == "active"
    assert (await custody.get(world.x.headers, a1))["status"] == "active"
    assert [event["kind"] for event in await custody.get(world.x.headers, a1, "/events")] == [
        "create", "dispatch", "receive"]


async def test_a_stranger_gets_404_for_every_action(world, custody, traceability, problem, mass):
    a1, own = await create(custody, world.coop_a), await create(custody, world.coop_b)

    for name, (path, body) in actions(a1, own, mass).items():
        refused = problem(await traceability.post(path, json=body, headers=world.coop_b.headers), 404)
        assert refused["detail"] == "lot not found", name
    assert (await custody.get(world.coop_b.headers, own))["status"] == "active"
    assert (await custody.get(world.coop_a.headers, a1))["status"] == "active"
    assert [event["kind"] for event in await custody.get(world.coop_a.headers, a1, "/events")] == ["create"]


async def test_a_merge_with_a_lot_of_another_holder_consumes_nothing(world, custody, traceability, problem):
    a1, a2, a3 = [await create(custody, world.coop_a) for _ in range(3)]
    mine = await custody.hand_over(world.coop_a.headers, a1, world.x)
    sold = await custody.hand_over(world.x.headers, await custody.hand_over(world.coop_a.headers, a2, world.x),
                                   world.z)

    # a3 was never the trader's (404); ``sold`` was, and is the refiner's now (403); in either order.
    for lots, status in (([mine, a3], 404), ([a3, mine], 404), ([mine, sold], 403), ([sold, mine], 403)):
        problem(await traceability.post("/v1/merges", json={"lot_ids": [lot["id"] for lot in lots]},
                                        headers=world.x.headers), status)
    assert (await custody.get(world.x.headers, mine))["status"] == "active"
    assert (await custody.get(world.z.headers, sold))["status"] == "active"
    assert (await custody.get(world.coop_a.headers, a3))["status"] == "active"
    assert [event["kind"] for event in await custody.get(world.x.headers, mine, "/events")] == [
        "create", "dispatch", "receive"]


async def test_unscoped_roles_read_every_lot_but_act_on_none(world, custody, traceability, problem, mass):
    a1, a2 = await create(custody, world.coop_a), await create(custody, world.coop_b)
    held = await custody.hand_over(world.coop_a.headers, a1, world.x)

    for role, headers in world.unscoped.items():
        await assert_readable(traceability, headers, held)
        await assert_readable(traceability, headers, a2)
        assert await listed_ids(traceability, headers, code=held["code"]) == {held["id"]}, role
        provenance = await custody.get(headers, held, "/provenance")
        assert [origin["lot_id"] for origin in provenance["origins"]] == [a1["id"]]
        for name, (path, body) in actions(a2, held, mass).items():
            refused = problem(await traceability.post(path, json=body, headers=headers), 403)
            assert f"role {role}" in refused["detail"], name
    assert (await custody.get(world.coop_b.headers, a2))["status"] == "active"
    assert (await custody.get(world.x.headers, held))["status"] == "active"


# --- red flags ---------------------------------------------------------------------------------------------------


async def test_red_flags_are_listed_only_to_those_who_read_the_lot(world, custody, traceability):
    a1 = await create(custody, world.coop_a)
    await custody.dispatch(world.coop_a.headers, a1, str(uuid.uuid4()))  # to an organisation nobody registered

    [flag] = await custody.red_flags(world.coop_a.headers, lot_id=a1["id"])
    assert flag["rule"] == "unregistered_custodian"
    assert flag["id"] in await listed_ids(traceability, world.coop_a.headers, "/v1/red-flags")
    for headers in (world.coop_b.headers, world.x.headers):
        assert await custody.red_flags(headers, lot_id=a1["id"]) == []
        assert flag["id"] not in await listed_ids(traceability, headers, "/v1/red-flags")
    for headers in world.unscoped.values():
        assert [found["id"] for found in await custody.red_flags(headers, lot_id=a1["id"])] == [flag["id"]]
