"""End to end through the API: two cooperatives (one certified at good), a trader, a refiner.

Lots are created, handed to the trader, merged segregated and by mass balance, smelted to doré,
split and sold to a refiner; claims and masses are checked at every step, provenance from the
refiner's lot reaches both origins, and the EPCIS export validates.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, localcontext
from pathlib import Path

import simplejson

from minka_traceability.epcis.validation import load_validator


def proportion(certified_kg: Decimal, part_kg: Decimal, whole_kg: Decimal) -> Decimal:
    """certified × part ÷ whole, rounded down to the 1e-16 kg that is recorded."""
    with localcontext() as context:
        context.prec = 80
        return (certified_kg * part_kg / whole_kg).quantize(Decimal("1e-16"), rounding=ROUND_DOWN)


SCHEMA = Path(__file__).resolve().parents[3] / ".." / "shared" / "epcis" / "EPCIS-JSON-Schema.json"


async def test_two_cooperatives_to_a_refiner(make_group, flows, make_party, custody, mass, traceability):
    certified = await make_group("Oro Verde", members=4, near_forest_members=1)
    await flows.certify(certified)
    uncertified = await make_group("Oro Libre", members=3, near_forest_members=0)
    trader = await make_party("trader", "Andes Trading")
    refiner = await make_party("refiner", "Swiss Refinery")

    miner = certified.members[1]
    far_site = certified.far_sites[0]
    a1 = await custody.create(certified.manager, far_site, "1.5", "kg", miner_id=miner["id"], mercury_free=True)
    a2 = await custody.create(certified.manager, far_site, "500", "g", mercury_free=True)
    a3 = await custody.create(certified.manager, certified.far_sites[1], "16.0754", "oz_t")
    b1 = await custody.create(uncertified.manager, uncertified.far_sites[0], "2", "kg",
                              chain_of_custody="mass_balance")

    assert a1["mass_kg"] == "1.5" and a2["mass_kg"] == "0.5" and a3["mass_kg"] == "0.50000083095072"
    assert a1["claims"]["certified"] and a1["claims"]["tier"] == "good"
    assert a1["claims"]["mercury_free"] and not a3["claims"]["mercury_free"]
    assert a1["origin"]["certificate_number"].startswith("MNK-")
    assert not b1["claims"]["certified"] and b1["claims"]["tier"] is None and b1["origin"]["certificate_number"] is None

    held = [await custody.hand_over(certified.manager, lot, trader) for lot in (a1, a2, a3)]
    b1 = await custody.hand_over(uncertified.manager, b1, trader)
    assert all(lot["custodian_id"] == trader.id and lot["status"] == "active" for lot in held)

    segregated = await custody.merge(trader.headers, held[:2])
    assert segregated["mass_kg"] == "2" and segregated["chain_of_custody"] == "segregated"
    assert segregated["claims"]["certified"] and segregated["claims"]["tier"] == "good"
    assert segregated["claims"]["mercury_free"]

    blended = await custody.merge(trader.headers, [segregated, held[2], b1], chain_of_custody="mass_balance")
    assert blended["mass_kg"] == "4.50000083095072"
    assert blended["claims"]["certified_mass_kg"] == "2.50000083095072"
    assert blended["claims"]["certified_share"] == "0.5555"
    assert blended["claims"]["tier"] == "good" and not blended["claims"]["mercury_free"]

    dore = await custody.transform(trader.headers, blended, mass("4.05"))
    assert dore["form"] == "dore" and dore["mass_kg"] == "4.05"
    # 10 % lost in smelting: the certified mass shrinks in proportion, rounded down to 1e-16 kg.
    dore_certified = Decimal(dore["claims"]["certified_mass_kg"])
    assert dore_certified == proportion(Decimal("2.50000083095072"), Decimal("4.05"), Decimal("4.50000083095072"))

    parts = (await custody.split(trader.headers, dore, [mass("3"), mass("1.04")], loss=mass("10", "g")))["lots"]
    assert [p["mass_kg"] for p in parts] == ["3", "1.04"]
    shares = [Decimal(p["claims"]["certified_mass_kg"]) for p in parts]
    assert sum(shares) == proportion(dore_certified, Decimal("4.04"), Decimal("4.05"))
    assert all(share <= Decimal(p["mass_kg"]) for share, p in zip(shares, parts, strict=True))

    sold = await custody.hand_over(trader.headers, parts[0], refiner)
    assert sold["custodian_id"] == refiner.id

    provenance = await custody.get(refiner.headers, sold, "/provenance")
    origins = {origin["lot_id"]: origin for origin in provenance["origins"]}
    assert set(origins) == {a1["id"], a2["id"], a3["id"], b1["id"]}
    assert origins[a1["id"]]["tier"] == "good" and origins[a1["id"]]["certificate_number"]
    assert origins[b1["id"]]["certificate_number"] is None
    assert {origin["cooperative_id"] for origin in origins.values()} == {
        certified.cooperative["id"], uncertified.cooperative["id"]}

    response = await traceability.get(f"/v1/lots/{sold['id']}/epcis", headers=refiner.headers)
    assert response.status_code == 200, response.text
    document = simplejson.loads(response.content, use_decimal=True)
    assert load_validator(SCHEMA).errors(document) == []
    kinds = [event.get("bizStep") for event in document["epcisBody"]["eventList"]]
    assert kinds.count("commissioning") == 4 and "shipping" in kinds and "receiving" in kinds
