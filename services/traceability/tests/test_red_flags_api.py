"""Red flags through the API: what raises each rule, who sees a flag, and how it is closed.

Cooperatives that need no certification are made here (``make_cooperative``: one site at 10°N, west of
-100°, optionally with a declared monthly capacity); certified ones come from ``make_group`` and ``flows``.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

_longitudes = itertools.count()


def utc_today() -> date:
    return datetime.now(UTC).date()


def months_back(count: int, day: int = 1) -> str:
    """A day of the calendar month ``count`` months before the current one."""
    first = utc_today().replace(day=1)
    for _ in range(count):
        first = (first - timedelta(days=1)).replace(day=1)
    return first.replace(day=day).isoformat()


@dataclass
class Cooperative:
    organization: dict
    manager: dict[str, str]
    site: dict

    @property
    def id(self) -> str:
        return self.organization["id"]


@pytest.fixture
def make_cooperative(actors, registry, ok):
    async def make(name: str, capacity_kg_per_month: str | None = None) -> Cooperative:
        organization, manager = await actors.cooperative_manager(name)
        point = {"type": "Point", "coordinates": [-140.0 - 0.01 * next(_longitudes), 10.0]}
        body = {"cooperative_id": organization["id"], "name": f"{name} pit", "geometry": point,
                "minerals": ["gold"], "method": "alluvial"}
        if capacity_kg_per_month is not None:
            body["capacity_kg_per_month"] = capacity_kg_per_month
        site = ok(await registry.post("/v1/sites", headers=manager, json=body), 201)
        return Cooperative(organization, manager, site)

    return make


@pytest.fixture
async def authority_headers(actors) -> dict[str, str]:
    return await actors.headers("authority")


async def flags_on(custody, headers: dict, lot: dict, **params) -> list[dict]:
    return await custody.red_flags(headers, lot_id=lot["id"], **params)


# --- the rules --------------------------------------------------------------------------------------------------------


async def test_a_receipt_beyond_the_tolerance_raises_a_mass_discrepancy(
    make_cooperative, make_party, custody, mass, admin_headers
):
    coop = await make_cooperative("Cooperativa Merma")
    trader = await make_party("trader", "Light Scales Trading")
    lot = await custody.create(coop.manager, coop.site, "10")
    await custody.hand_over(coop.manager, lot, trader, received=mass("9.9"))  # 1 % short

    [flag] = await flags_on(custody, admin_headers, lot)
    assert (flag["rule"], flag["lot_id"], flag["details"]["lot_code"]) == ("mass_discrepancy", lot["id"], lot["code"])
    numbers = {key: flag["details"][key] for key in ("dispatched_kg", "received_kg", "difference_kg")}
    assert numbers == {"dispatched_kg": "10", "received_kg": "9.9", "difference_kg": "-0.1"}
    assert flag["closed_at"] is None


async def test_a_receipt_heavier_beyond_the_tolerance_is_flagged_too(
    make_cooperative, make_party, custody, mass, admin_headers
):
    coop = await make_cooperative("Cooperativa Ganancia")
    trader = await make_party("trader", "Heavy Scales Trading")
    lot = await custody.create(coop.manager, coop.site, "10")
    await custody.hand_over(coop.manager, lot, trader, received=mass("10.06"))

    [flag] = await flags_on(custody, admin_headers, lot)
    assert flag["rule"] == "mass_discrepancy" and flag["details"]["difference_kg"] == "0.06"


async def test_a_receipt_within_the_tolerance_raises_nothing(
    make_cooperative, make_party, custody, mass, admin_headers
):
    coop = await make_cooperative("Cooperativa Precisa")
    trader = await make_party("trader", "Fair Scales Trading")
    at_the_limit = await custody.create(coop.manager, coop.site, "10")
    await custody.hand_over(coop.manager, at_the_limit, trader, received=mass("9.95"))  # exactly 0.5 %
    assert await flags_on(custody, admin_headers, at_the_limit, include_closed=True) == []


async def test_production_above_the_declared_monthly_capacity_is_flagged(make_cooperative, custody, admin_headers):
    coop = await make_cooperative("Cooperativa Capacidad", capacity_kg_per_month="100")
    first = await custody.create(coop.manager, coop.site, "60", produced_on=months_back(1, day=3))
    assert await flags_on(custody, admin_headers, first) == []

    second = await custody.create(coop.manager, coop.site, "50", produced_on=months_back(1, day=20))
    [flag] = await flags_on(custody, admin_headers, second)
    assert flag["rule"] == "above_capacity"
    assert (flag["details"]["recorded_kg"], flag["details"]["capacity_kg_per_month"]) == ("110", "100")
    assert flag["details"]["month"] == months_back(1)[:7]


async def test_production_in_different_months_does_not_add_up(make_cooperative, custody, admin_headers):
    coop = await make_cooperative("Cooperativa Mensual", capacity_kg_per_month="100")
    lots = [await custody.create(coop.manager, coop.site, "70", produced_on=months_back(back, day=28))
            for back in (3, 2, 1)]
    for lot in lots:
        assert await flags_on(custody, admin_headers, lot) == []


async def test_custody_passed_to_an_unregistered_organisation_is_accepted_and_flagged(
    make_cooperative, custody, admin_headers
):
    coop = await make_cooperative("Cooperativa Desconocido")
    lot = await custody.create(coop.manager, coop.site, "1")
    stranger = str(uuid.uuid4())
    transfer = await custody.dispatch(coop.manager, lot, stranger)
    assert transfer["to_organization_id"] == stranger and transfer["lot"]["status"] == "in_transit"

    [flag] = await flags_on(custody, admin_headers, lot)
    assert flag["rule"] == "unregistered_custodian" and flag["details"]["to_organization_id"] == stranger


async def test_a_certified_claim_from_a_member_suspended_at_production_is_flagged_on_recheck(
    make_group, flows, certification, traceability, custody, clock, admin_headers, ok
):
    """The cooperative records, late, an internal inspection that suspended the member before the lot was
    produced: certification's history now says the member was not covered, and the recheck flags the lot.

    The certification is granted ten days ago (the clock moved back for it), so that production three days
    ago was covered when the lot was created and every date stays in the past."""
    group = await make_group("Oro Suspendido", members=2, near_forest_members=1)
    clock.advance(days=-10)
    certified = await flows.certify(group)
    clock.advance(days=10)
    member, produced_on = group.members[1]["id"], utc_today() - timedelta(days=3)
    lot = await custody.create(group.manager, group.far_sites[0], "1", miner_id=member,
                               produced_on=produced_on.isoformat())
    assert lot["claims"]["certified"] and lot["claims"]["tier"] == "good"

    inspection = {"member_id": member, "inspected_on": (produced_on - timedelta(days=2)).isoformat(),
                  "sanction": "suspension", "note": "mercury found at the sluice, recorded late"}
    ok(await certification.post(f"{certified.path}/inspections", json=inspection, headers=group.manager), 201)
    assert not (await flows.status(cooperative_id=group.cooperative["id"], member_id=member,
                                   on=produced_on.isoformat()))["covered"]

    raised = ok(await traceability.post("/v1/red-flags/recheck", headers=admin_headers))["raised"]
    [flag] = [each for each in raised if each["lot_id"] == lot["id"]]
    assert flag["rule"] == "suspended_claim"
    assert flag["details"]["certificate_number"] == certified.certification["certificate_number"]
    assert flag["details"]["claimed_tier"] == "good" and "suspension" in flag["details"]["reason"]
    assert (await custody.get(group.manager, lot))["claims"] == lot["claims"]

    again = ok(await traceability.post("/v1/red-flags/recheck", headers=admin_headers))["raised"]
    assert [each for each in again if each["lot_id"] == lot["id"]] == []
    assert len(await flags_on(custody, admin_headers, lot, include_closed=True)) == 1


async def test_only_admin_authority_and_service_may_recheck(make_party, traceability, problem):
    trader = await make_party("trader", "Curious Trading")
    problem(await traceability.post("/v1/red-flags/recheck", headers=trader.headers), 403)


# --- who sees a flag, and closing it ----------------------------------------------------------------------------------


@dataclass
class FlaggedChain:
    """A lot received short by a trader (flagged), split, and one part sold to a refiner."""

    cooperative: Cooperative
    trader: Any  # conftest's Party: an organisation and its buyer headers
    refiner: Any
    lot: dict
    flag: dict


@pytest.fixture
async def flagged_chain(make_cooperative, make_party, custody, mass, admin_headers) -> FlaggedChain:
    coop = await make_cooperative("Cooperativa Bandera")
    trader, refiner = await make_party("trader", "Flagged Trading"), await make_party("refiner", "Flagged Refinery")
    lot = await custody.create(coop.manager, coop.site, "10")
    received = await custody.hand_over(coop.manager, lot, trader, received=mass("9"))
    parts = (await custody.split(trader.headers, received, [mass("5"), mass("4")]))["lots"]
    await custody.hand_over(trader.headers, parts[0], refiner)
    [flag] = await flags_on(custody, admin_headers, lot)
    return FlaggedChain(coop, trader, refiner, lot, flag)


async def test_a_flag_is_listed_for_every_organisation_that_may_read_the_lot(
    flagged_chain, make_party, make_cooperative, custody, admin_headers, authority_headers
):
    chain = flagged_chain
    readers = [chain.cooperative.manager, chain.trader.headers, chain.refiner.headers, admin_headers,
               authority_headers]
    for headers in readers:
        assert [flag["id"] for flag in await custody.red_flags(headers)].count(chain.flag["id"]) == 1

    other_buyer = await make_party("trader", "Unrelated Trading")
    other_cooperative = await make_cooperative("Cooperativa Ajena")
    for headers in (other_buyer.headers, other_cooperative.manager):
        assert await custody.red_flags(headers) == []
        assert await flags_on(custody, headers, chain.lot, include_closed=True) == []


async def test_closing_a_flag_takes_it_off_the_open_list(flagged_chain, custody, traceability, ok, admin_headers):
    chain = flagged_chain
    closed = ok(await traceability.post(f"/v1/red-flags/{chain.flag['id']}/close", headers=admin_headers,
                                        json={"note": "scale at the warehouse recalibrated; 1 kg of water"}))
    assert closed["closed_at"] and closed["closing_note"].startswith("scale at the warehouse")

    assert await flags_on(custody, chain.trader.headers, chain.lot) == []
    [listed] = await flags_on(custody, chain.trader.headers, chain.lot, include_closed=True)
    assert listed["closed_by"] == closed["closed_by"] and listed["closed_at"] is not None


async def test_a_flag_is_closed_once(flagged_chain, traceability, problem, admin_headers, authority_headers):
    path = f"/v1/red-flags/{flagged_chain.flag['id']}/close"
    assert (await traceability.post(path, headers=authority_headers, json={"note": "documented"})).status_code == 200
    problem(await traceability.post(path, headers=admin_headers, json={"note": "again"}), 409)


async def test_a_buyer_cannot_close_a_flag(flagged_chain, traceability, problem, custody, admin_headers):
    path = f"/v1/red-flags/{flagged_chain.flag['id']}/close"
    problem(await traceability.post(path, headers=flagged_chain.trader.headers, json={"note": "all fine"}), 403)
    problem(await traceability.post(path, headers=admin_headers, json={"note": ""}), 422)
    assert [flag["id"] for flag in await flags_on(custody, admin_headers, flagged_chain.lot)] == [
        flagged_chain.flag["id"]]
