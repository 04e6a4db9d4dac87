"""The custody rules through the API: lots at origin, split, merge, transform, handovers, replays and history.

Cooperatives that need no certification are made here (``make_cooperative``: one site at 10°N, west of
-100°, and one member); certified ones come from ``make_group`` and ``flows``.
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

BASE_STANDARD = {"code": "MINKA-ASM", "version": "1.0"}
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
_longitudes = itertools.count()


def utc_today() -> date:
    return datetime.now(UTC).date()


def before_certification() -> str:
    """A production day before any certification made in the test was granted: not covered."""
    return (utc_today() - timedelta(days=2)).isoformat()


@dataclass
class Cooperative:
    """A cooperative with one site and one member, and its manager's headers."""

    organization: dict
    manager: dict[str, str]
    site: dict
    member: dict

    @property
    def id(self) -> str:
        return self.organization["id"]


@pytest.fixture
def make_cooperative(actors, registry, ok):
    async def make(name: str = "Cooperativa", minerals: tuple[str, ...] = ("gold",),
                   member_joined: date | None = None) -> Cooperative:
        organization, manager = await actors.cooperative_manager(name)
        point = {"type": "Point", "coordinates": [-101.0 - 0.01 * next(_longitudes), 10.0]}
        site = ok(await registry.post("/v1/sites", headers=manager, json={
            "cooperative_id": organization["id"], "name": f"{name} pit", "geometry": point,
            "minerals": list(minerals), "method": "alluvial"}), 201)
        joined = member_joined or utc_today() - timedelta(days=365)
        member = ok(await registry.post("/v1/miners", headers=manager, json={
            "full_name": f"{name} miner", "gender": "female", "birth_date": "1990-05-01",
            "cooperative_id": organization["id"], "site_id": site["id"], "joined_on": joined.isoformat()}), 201)
        return Cooperative(organization, manager, site, member)

    return make


@pytest.fixture
async def certified(make_group, flows):
    """A cooperative certified today at tier good, and the certification as decided."""
    group = await make_group("Oro Certificado", members=2, near_forest_members=1)
    return group, (await flows.certify(group)).certification


@pytest.fixture
async def certify_foundational(flows, example_standards):
    """Certifies a group at tier foundational: two good indicators unmet in two performance areas."""
    async def certify(group) -> dict:
        _, path = await flows.open(group)
        audit = await flows.new_audit(group, path)
        results = flows.results_for(example_standards, audit, group.sites, unmet_levels=(),
                                    unmet_codes={"P1.1.3", "P2.3.2"})
        assert (await flows.record(group, audit, results)).status_code == 201
        assert (await flows.close(group, audit))["tier"] == "foundational"
        return await flows.decide(group, path, "certify")

    return certify


def field_errors(body: dict) -> set[str]:
    return {error["field"] for error in body.get("errors") or []}


def certified_kg(lot: dict) -> Decimal:
    return Decimal(lot["claims"]["certified_mass_kg"])


# --- lots at origin ------------------------------------------------------------------------------------------------


async def test_masses_in_every_unit_are_recorded_exactly_in_kg(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Unidades")
    entered = [("250", "g", "0.25"), ("1.5", "kg", "1.5"), ("1", "t", "1000"), ("3", "oz_t", "0.0933104304"),
               ("16.0754", "oz_t", "0.50000083095072")]
    for value, unit, expected in entered:
        lot = await custody.create(coop.manager, coop.site, value, unit)
        assert lot["mass_kg"] == expected, (value, unit)


async def test_a_mass_given_as_a_json_number_is_refused(make_cooperative, traceability, problem):
    coop = await make_cooperative("Cooperativa Flotante")
    body = {"site_id": coop.site["id"], "commodity": "gold", "form": "ore", "mass": {"value": 12.5, "unit": "kg"},
            "produced_on": utc_today().isoformat()}
    refused = problem(await traceability.post("/v1/lots", json=body, headers=coop.manager), 422)
    assert field_errors(refused) == {"mass.value"}


async def test_a_mass_too_precise_to_store_exactly_is_refused(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Precisa")
    for value, unit in [("0.00000000000000001", "kg"), ("0.0000001", "oz_t")]:
        refused = await custody.create(coop.manager, coop.site, value, unit, status=422)
        assert "more precise" in str(refused["errors"])


async def test_zero_or_negative_mass_is_refused(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Vacía")
    for value in ("0", "-1"):
        refused = await custody.create(coop.manager, coop.site, value, status=422)
        assert field_errors(refused) == {"mass.value"}


async def test_a_site_of_another_cooperative_is_refused_without_saying_whose(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Propia")
    other = await make_cooperative("Cooperativa Ajena Secreta")
    refused = await custody.create(coop.manager, other.site, "1", status=422)
    assert field_errors(refused) == {"site_id"}
    for secret in (other.id, other.organization["name"], other.site["name"]):
        assert secret not in str(refused)


async def test_a_commodity_the_site_does_not_declare_is_refused(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Solo Oro")
    refused = await custody.create(coop.manager, coop.site, "1", commodity="silver", status=422)
    assert field_errors(refused) == {"commodity"}


async def test_production_in_the_future_is_refused(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Futura")
    tomorrow = (utc_today() + timedelta(days=2)).isoformat()
    refused = await custody.create(coop.manager, coop.site, "1", produced_on=tomorrow, status=422)
    assert field_errors(refused) == {"produced_on"}


async def test_a_miner_who_was_not_a_member_on_the_day_of_production_is_refused(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Reciente", member_joined=utc_today() - timedelta(days=10))
    before_joining = (utc_today() - timedelta(days=20)).isoformat()
    refused = await custody.create(coop.manager, coop.site, "1", miner_id=coop.member["id"],
                                   produced_on=before_joining, status=422)
    assert field_errors(refused) == {"miner_id"}
    member_then = await custody.create(coop.manager, coop.site, "1", miner_id=coop.member["id"])
    assert member_then["origin"]["miner_id"] == coop.member["id"]


async def test_a_new_lot_has_a_public_code_and_is_held_by_its_cooperative(make_cooperative, custody, traceability,
                                                                         ok):
    coop = await make_cooperative("Cooperativa Código")
    lot = await custody.create(coop.manager, coop.site, "2")
    assert CODE.match(lot["code"]), lot["code"]
    assert lot["custodian_id"] == coop.id and lot["status"] == "active"
    assert lot["origin"]["cooperative_id"] == coop.id and lot["origin"]["site_id"] == coop.site["id"]
    found = ok(await traceability.get("/v1/lots", params={"code": lot["code"]}, headers=coop.manager))["items"]
    assert [each["id"] for each in found] == [lot["id"]]


async def test_a_lot_of_an_uncertified_cooperative_claims_nothing(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Sin Sello")
    lot = await custody.create(coop.manager, coop.site, "2")
    claims = lot["claims"]
    assert (claims["certified"], claims["tier"], claims["standards"], claims["forest_smart"]) == (
        False, None, [], False)
    assert claims["certified_mass_kg"] == "0" and claims["certified_share"] == "0.0000"
    assert lot["origin"]["certificate_number"] is None


async def test_a_lot_of_a_certified_cooperative_carries_tier_standards_and_certificate(certified, custody):
    group, certification = certified
    lot = await custody.create(group.manager, group.far_sites[0], "1.5", miner_id=group.members[1]["id"])
    claims = lot["claims"]
    assert claims["certified"] and claims["tier"] == "good" and BASE_STANDARD in claims["standards"]
    assert claims["certified_mass_kg"] == "1.5" and claims["certified_share"] == "1.0000"
    assert lot["origin"]["certificate_number"] == certification["certificate_number"]
    assert lot["origin"]["tier"] == "good"


async def test_mercury_free_is_as_declared(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Sin Mercurio")
    declared = await custody.create(coop.manager, coop.site, "1", mercury_free=True)
    undeclared = await custody.create(coop.manager, coop.site, "1")
    assert declared["claims"]["mercury_free"] is True and undeclared["claims"]["mercury_free"] is False


async def test_a_later_suspension_never_rewrites_past_lots(certified, flows, custody):
    group, certification = certified
    before = await custody.create(group.manager, group.far_sites[0], "1")
    await flows.decide(group, f"/v1/certifications/{certification['id']}", "suspend", reason="open major finding")

    assert (await custody.get(group.manager, before))["claims"] == before["claims"]
    assert (await custody.get(group.manager, before))["origin"]["certificate_number"] == \
        certification["certificate_number"]
    after = await custody.create(group.manager, group.far_sites[0], "1")
    assert not after["claims"]["certified"] and after["claims"]["tier"] is None
    assert after["origin"]["certificate_number"] is None


# --- split -----------------------------------------------------------------------------------------------------------


async def test_split_parts_and_loss_must_equal_the_lot_exactly(make_cooperative, custody, mass):
    coop = await make_cooperative("Cooperativa Balanza")
    lot = await custody.create(coop.manager, coop.site, "10")
    refused = await custody.split(coop.manager, lot, [mass("4"), mass("5")], loss=mass("0.5"), status=422)
    assert "outputs 9 kg" in refused["detail"] and "loss 0.5 kg" in refused["detail"]
    assert "input 10 kg" in refused["detail"]
    too_much = await custody.split(coop.manager, lot, [mass("4"), mass("6")], loss=mass("1", "g"), status=422)
    assert "input 10 kg" in too_much["detail"]
    assert (await custody.get(coop.manager, lot))["status"] == "active"


async def test_a_split_consumes_its_input_and_makes_the_parts(make_cooperative, custody, mass):
    coop = await make_cooperative("Cooperativa Partida")
    lot = await custody.create(coop.manager, coop.site, "10")
    parts = (await custody.split(coop.manager, lot, [mass("4"), mass("5.5")], loss=mass("500", "g")))["lots"]
    assert [part["mass_kg"] for part in parts] == ["4", "5.5"]
    assert all(part["status"] == "active" and part["custodian_id"] == coop.id for part in parts)
    assert len({part["code"] for part in parts} | {lot["code"]}) == 3
    assert (await custody.get(coop.manager, lot))["status"] == "consumed"


async def test_a_consumed_lot_cannot_be_used_again(make_cooperative, make_party, custody, mass):
    coop = await make_cooperative("Cooperativa Consumida")
    trader = await make_party("trader", "Consumed Lots Trading")
    lot = await custody.create(coop.manager, coop.site, "10")
    part, _ = (await custody.split(coop.manager, lot, [mass("5"), mass("5")]))["lots"]

    await custody.split(coop.manager, lot, [mass("5"), mass("5")], status=409)
    await custody.merge(coop.manager, [lot, part], status=409)
    await custody.transform(coop.manager, lot, mass("9"), status=409)
    await custody.dispatch(coop.manager, lot, trader.id, status=409)
    assert (await custody.get(coop.manager, part))["status"] == "active"  # the failed merge took nothing


async def test_a_lot_in_transit_cannot_be_used(make_cooperative, make_party, custody, mass):
    coop = await make_cooperative("Cooperativa En Camino")
    trader = await make_party("trader", "In Transit Trading")
    lot = await custody.create(coop.manager, coop.site, "10")
    other = await custody.create(coop.manager, coop.site, "1")
    await custody.dispatch(coop.manager, lot, trader.id)

    await custody.split(coop.manager, lot, [mass("5"), mass("5")], status=409)
    await custody.merge(coop.manager, [lot, other], status=409)
    await custody.transform(coop.manager, lot, mass("9"), status=409)
    await custody.dispatch(coop.manager, lot, trader.id, status=409)
    assert (await custody.get(coop.manager, other))["status"] == "active"


async def test_a_segregated_split_keeps_every_part_certified(certified, custody, mass):
    group, certification = certified
    lot = await custody.create(group.manager, group.far_sites[0], "2")
    parts = (await custody.split(group.manager, lot, [mass("1.5"), mass("0.4")], loss=mass("100", "g")))["lots"]
    for part in parts:
        assert part["claims"]["certified"] and part["claims"]["tier"] == "good"
        assert part["claims"]["certified_mass_kg"] == part["mass_kg"] and part["claims"]["certified_share"] == "1.0000"
        assert part["claims"]["standards"] == lot["claims"]["standards"]


async def test_a_mass_balance_split_shares_the_certified_mass(certified, custody, mass):
    group, _ = certified
    site = group.far_sites[0]
    certified_lot = await custody.create(group.manager, site, "1", chain_of_custody="mass_balance")
    uncertified_lot = await custody.create(group.manager, site, "2", chain_of_custody="mass_balance",
                                           produced_on=before_certification())
    blended = await custody.merge(group.manager, [certified_lot, uncertified_lot])
    assert blended["chain_of_custody"] == "mass_balance" and certified_kg(blended) == 1

    parts = (await custody.split(group.manager, blended, [mass("1"), mass("1"), mass("1")]))["lots"]
    assert sum(map(certified_kg, parts)) == certified_kg(blended)
    assert all(part["claims"]["tier"] == "good" and part["claims"]["certified_share"] == "0.3333" for part in parts)

    lossy = (await custody.split(group.manager, parts[0], [mass("0.5"), mass("0.4")], loss=mass("0.1")))["lots"]
    assert sum(map(certified_kg, lossy)) <= certified_kg(parts[0]) * Decimal("0.9")
    assert all(certified_kg(part) <= Decimal(part["mass_kg"]) for part in lossy)


# --- merge -----------------------------------------------------------------------------------------------------------


async def test_a_segregated_merge_with_an_uncertified_input_is_uncertified(certified, custody):
    group, _ = certified
    site = group.far_sites[0]
    certified_lot = await custody.create(group.manager, site, "1", mercury_free=True)
    uncertified_lot = await custody.create(group.manager, site, "1", mercury_free=True,
                                           produced_on=before_certification())
    assert certified_lot["claims"]["certified"] and not uncertified_lot["claims"]["certified"]

    merged = await custody.merge(group.manager, [certified_lot, uncertified_lot])
    assert merged["chain_of_custody"] == "segregated" and merged["mass_kg"] == "2"
    assert (merged["claims"]["certified"], merged["claims"]["tier"], merged["claims"]["certified_mass_kg"]) == (
        False, None, "0")
    assert merged["claims"]["mercury_free"]


async def test_a_segregated_merge_of_certified_lots_takes_the_lowest_tier(
    make_group, flows, certify_foundational, make_party, custody
):
    good = await make_group("Oro Bueno", members=2, near_forest_members=1)
    await flows.certify(good)
    foundational = await make_group("Oro Básico", members=4, near_forest_members=1)
    await certify_foundational(foundational)
    trader = await make_party("trader", "Lowest Tier Trading")
    good_lot = await custody.create(good.manager, good.far_sites[0], "1")
    foundational_lot = await custody.create(foundational.manager, foundational.far_sites[0], "2")
    assert (good_lot["claims"]["tier"], foundational_lot["claims"]["tier"]) == ("good", "foundational")

    held = [await custody.hand_over(group.manager, lot, trader)
            for group, lot in ((good, good_lot), (foundational, foundational_lot))]
    merged = await custody.merge(trader.headers, held, chain_of_custody="segregated")
    assert merged["claims"]["certified"] and merged["claims"]["tier"] == "foundational"
    assert merged["claims"]["certified_mass_kg"] == "3" and BASE_STANDARD in merged["claims"]["standards"]


async def test_a_segregated_merge_refuses_a_mass_balance_input(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Mezcla")
    segregated = await custody.create(coop.manager, coop.site, "1")
    balanced = await custody.create(coop.manager, coop.site, "1", chain_of_custody="mass_balance")
    refused = await custody.merge(coop.manager, [segregated, balanced], chain_of_custody="segregated", status=422)
    assert field_errors(refused) == {"chain_of_custody"}
    defaulted = await custody.merge(coop.manager, [segregated, balanced])
    assert defaulted["chain_of_custody"] == "mass_balance"


async def test_a_mass_balance_merge_carries_the_certified_mass_and_share(certified, custody):
    group, _ = certified
    site = group.far_sites[0]
    inputs = [await custody.create(group.manager, site, "1.5"), await custody.create(group.manager, site, "0.5"),
              await custody.create(group.manager, site, "2", produced_on=before_certification())]
    merged = await custody.merge(group.manager, inputs, chain_of_custody="mass_balance")
    assert merged["mass_kg"] == "4" and merged["chain_of_custody"] == "mass_balance"
    assert merged["claims"]["certified_mass_kg"] == "2" and merged["claims"]["certified_share"] == "0.5000"
    assert merged["claims"]["certified"] and merged["claims"]["tier"] == "good"


async def test_lots_of_different_commodities_cannot_be_merged(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Polimetálica", minerals=("gold", "silver"))
    gold = await custody.create(coop.manager, coop.site, "1")
    silver = await custody.create(coop.manager, coop.site, "1", commodity="silver")
    refused = await custody.merge(coop.manager, [gold, silver], status=422)
    assert field_errors(refused) == {"lot_ids"}
    assert (await custody.get(coop.manager, gold))["status"] == "active"


async def test_the_same_lot_cannot_be_merged_with_itself(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Doble")
    lot = await custody.create(coop.manager, coop.site, "1")
    refused = await custody.merge(coop.manager, [lot, lot], status=422)
    assert field_errors(refused) == {"lot_ids"}
    assert (await custody.get(coop.manager, lot))["status"] == "active"


async def test_lots_of_different_forms_need_the_merged_form_named(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Formas")
    ore = await custody.create(coop.manager, coop.site, "1")
    concentrate = await custody.create(coop.manager, coop.site, "1", form="concentrate")
    refused = await custody.merge(coop.manager, [ore, concentrate], status=422)
    assert field_errors(refused) == {"form"}
    merged = await custody.merge(coop.manager, [ore, concentrate], form="concentrate")
    assert merged["form"] == "concentrate" and merged["mass_kg"] == "2"


# --- transform -------------------------------------------------------------------------------------------------------


async def test_a_transformation_cannot_gain_mass(make_cooperative, custody, mass):
    coop = await make_cooperative("Cooperativa Alquimia")
    lot = await custody.create(coop.manager, coop.site, "2")
    refused = await custody.transform(coop.manager, lot, mass("2.001"), status=422)
    assert field_errors(refused) == {"output_mass"}
    assert (await custody.get(coop.manager, lot))["status"] == "active"


async def test_a_transformation_records_its_loss_and_keeps_the_claims(certified, custody, mass):
    group, _ = certified
    lot = await custody.create(group.manager, group.far_sites[0], "2", mercury_free=True)
    dore = await custody.transform(group.manager, lot, mass("1.75"), form="dore", process="smelting")
    assert dore["form"] == "dore" and dore["mass_kg"] == "1.75"
    assert dore["claims"]["certified"] and dore["claims"]["tier"] == "good" and dore["claims"]["mercury_free"]
    assert dore["claims"]["certified_mass_kg"] == "1.75"

    [event] = [e for e in await custody.get(group.manager, dore, "/events") if e["kind"] == "transform"]
    assert event["loss_kg"] == "0.25" and event["details"]["process"] == "smelting"
    assert event["inputs"] == [{"lot_id": lot["id"], "mass_kg": "2"}]
    assert event["outputs"] == [{"lot_id": dore["id"], "mass_kg": "1.75"}]


# --- dispatch and receive ---------------------------------------------------------------------------------------------


async def test_a_receipt_without_a_mass_keeps_the_dispatched_mass(make_cooperative, make_party, custody):
    coop = await make_cooperative("Cooperativa Entrega")
    trader = await make_party("trader", "Exact Receipt Trading")
    lot = await custody.create(coop.manager, coop.site, "3.25")
    received = await custody.hand_over(coop.manager, lot, trader)
    assert received["mass_kg"] == "3.25"


async def test_a_receipt_within_tolerance_takes_the_weighed_mass_without_a_flag(
    make_cooperative, make_party, custody, mass, admin_headers
):
    coop = await make_cooperative("Cooperativa Tolerancia")
    trader = await make_party("trader", "Tolerant Trading")
    lot = await custody.create(coop.manager, coop.site, "10")
    received = await custody.hand_over(coop.manager, lot, trader, received=mass("9.96"))  # 0.4 % less
    assert received["mass_kg"] == "9.96"
    assert await custody.red_flags(admin_headers, lot_id=lot["id"], include_closed=True) == []


async def test_the_custodian_changes_only_on_receipt(make_cooperative, make_party, custody):
    coop = await make_cooperative("Cooperativa Custodia")
    trader = await make_party("trader", "Custody Trading")
    lot = await custody.create(coop.manager, coop.site, "1")
    transfer = await custody.dispatch(coop.manager, lot, trader.id)
    assert (transfer["lot"]["custodian_id"], transfer["lot"]["status"]) == (coop.id, "in_transit")
    assert (await custody.get(trader.headers, lot))["custodian_id"] == coop.id

    received = await custody.receive(trader.headers, transfer)
    assert (received["status"], received["lot"]["custodian_id"], received["lot"]["status"]) == (
        "received", trader.id, "active")


async def test_a_transfer_is_received_once(make_cooperative, make_party, custody, mass):
    coop = await make_cooperative("Cooperativa Una Vez")
    trader = await make_party("trader", "Once Trading")
    lot = await custody.create(coop.manager, coop.site, "1")
    transfer = await custody.dispatch(coop.manager, lot, trader.id)
    await custody.receive(trader.headers, transfer)
    await custody.receive(trader.headers, transfer, mass("0.5"), status=409)
    assert (await custody.get(trader.headers, lot))["mass_kg"] == "1"


async def test_a_lot_cannot_be_dispatched_to_its_own_custodian(make_cooperative, custody):
    coop = await make_cooperative("Cooperativa Espejo")
    lot = await custody.create(coop.manager, coop.site, "1")
    refused = await custody.dispatch(coop.manager, lot, coop.id, status=422)
    assert field_errors(refused) == {"to_organization_id"}
    assert (await custody.get(coop.manager, lot))["status"] == "active"


async def test_a_certification_body_cannot_take_custody(make_cooperative, actors, custody):
    coop = await make_cooperative("Cooperativa Auditada")
    body = await actors.organization("certification_body", "Bureau That Holds Nothing")
    lot = await custody.create(coop.manager, coop.site, "1")
    refused = await custody.dispatch(coop.manager, lot, body["id"], status=422)
    assert field_errors(refused) == {"to_organization_id"}
    assert (await custody.get(coop.manager, lot))["status"] == "active"


# --- replays and history ----------------------------------------------------------------------------------------------


async def test_a_replayed_split_returns_the_first_response_and_creates_nothing(
    make_cooperative, custody, traceability, ok
):
    coop = await make_cooperative("Cooperativa Repetida")
    lot = await custody.create(coop.manager, coop.site, "10")
    body = {"parts": [{"mass": {"value": "6", "unit": "kg"}}, {"mass": {"value": "4", "unit": "kg"}}]}
    headers = {**coop.manager, "Idempotency-Key": f"split-{uuid.uuid4()}"}
    first = await traceability.post(f"/v1/lots/{lot['id']}/split", json=body, headers=headers)
    replay = await traceability.post(f"/v1/lots/{lot['id']}/split", json=body, headers=headers)

    assert [p["id"] for p in ok(replay, 201)["lots"]] == [p["id"] for p in ok(first, 201)["lots"]]
    assert replay.headers.get("Idempotent-Replayed") == "true"
    events = await custody.get(coop.manager, lot, "/events")
    assert [event["kind"] for event in events] == ["create", "split"]
    assert events[1]["idempotency_key"] == headers["Idempotency-Key"] and events[0]["idempotency_key"] is None
    active = ok(await traceability.get("/v1/lots", params={"status": "active", "limit": 100}, headers=coop.manager))
    assert len(active["items"]) == 2


async def test_history_lists_create_dispatch_receive_in_order(make_cooperative, make_party, custody, mass):
    coop = await make_cooperative("Cooperativa Historia")
    trader = await make_party("trader", "History Trading")
    lot = await custody.create(coop.manager, coop.site, "5")
    await custody.hand_over(coop.manager, lot, trader, received=mass("4.99"))

    events = await custody.get(trader.headers, lot, "/events")
    assert [event["kind"] for event in events] == ["create", "dispatch", "receive"]
    assert [event["organization_id"] for event in events] == [coop.id, coop.id, trader.id]
    assert all(event["actor"] for event in events)
    assert events[0]["actor"] == events[1]["actor"] != events[2]["actor"]
    assert events[0]["outputs"] == [{"lot_id": lot["id"], "mass_kg": "5"}]
    assert events[2]["subject"] == {"lot_id": lot["id"], "mass_kg": "4.99"} and events[2]["loss_kg"] == "0.01"
    assert events[0]["at"] <= events[1]["at"] <= events[2]["at"]


# --- provenance and downstream ----------------------------------------------------------------------------------------


@dataclass
class MergedAtTrader:
    first: Cooperative
    second: Cooperative
    trader_headers: dict[str, str]
    origins: list[dict]
    merged: dict


@pytest.fixture
async def merged_at_trader(make_cooperative, make_party, custody) -> MergedAtTrader:
    """Two cooperatives each hand a lot to a trader, who merges them."""
    first, second = await make_cooperative("Cooperativa Norte"), await make_cooperative("Cooperativa Sur")
    trader = await make_party("trader", "Merging Trading")
    origins = [await custody.create(first.manager, first.site, "1"),
               await custody.create(second.manager, second.site, "2")]
    held = [await custody.hand_over(first.manager, origins[0], trader),
            await custody.hand_over(second.manager, origins[1], trader)]
    return MergedAtTrader(first, second, trader.headers, origins, await custody.merge(trader.headers, held))


async def test_provenance_of_a_merged_lot_lists_both_origins(merged_at_trader, custody):
    scene = merged_at_trader
    provenance = await custody.get(scene.trader_headers, scene.merged, "/provenance")
    origins = {origin["lot_id"]: origin for origin in provenance["origins"]}
    assert set(origins) == {lot["id"] for lot in scene.origins}
    assert {origin["cooperative_id"] for origin in origins.values()} == {scene.first.id, scene.second.id}
    assert {origin["site_id"] for origin in origins.values()} == {scene.first.site["id"], scene.second.site["id"]}


async def test_downstream_of_an_origin_lot_shows_the_merge_to_admin(merged_at_trader, custody, admin_headers):
    scene = merged_at_trader
    downstream = await custody.get(admin_headers, scene.origins[0], "/downstream")
    assert {lot["id"] for lot in downstream["lots"]} == {scene.origins[0]["id"], scene.merged["id"]}
    assert "merge" in [event["kind"] for event in downstream["events"]]


async def test_downstream_hides_from_the_cooperative_the_lots_it_never_held(merged_at_trader, custody):
    scene = merged_at_trader
    downstream = await custody.get(scene.first.manager, scene.origins[0], "/downstream")
    assert [lot["id"] for lot in downstream["lots"]] == [scene.origins[0]["id"]]
    assert "merge" not in [event["kind"] for event in downstream["events"]]
    await custody.get(scene.first.manager, scene.merged, status=404)
