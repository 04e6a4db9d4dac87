"""Holders of lots whose origin lost its certificate are alerted: traceability follows certification's event feed
and records ``lot.origin_certificate_suspended`` for every lot in play with that origin upstream.

The round is called directly (the background job is off in the test fixtures). The cursor is shared by the whole
session, so a round may also handle other tests' suspensions: assertions look only at this test's lots.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from minka_common.certification_client import CertificationClient
from minka_common.errors import ServiceUnavailable
from minka_traceability import app as traceability_module
from minka_traceability.origin_alerts import FeedProgress, follow_certification_feed, handle, stored_position

ALERT = "lot.origin_certificate_suspended"


async def run_round(traceability_app) -> FeedProgress:
    state = traceability_app.state
    return await follow_certification_feed(state.database, state.certification, state.clock().date())


async def alerts(traceability, headers: dict) -> list[dict]:
    """Every alert in the caller's traceability feed, oldest first."""
    found, after = [], None
    while True:
        params = {"type": ALERT, "limit": 500, **({"after": after} if after else {})}
        page = (await traceability.get("/v1/events", params=params, headers=headers)).raise_for_status().json()
        found += page["items"]
        after = page["next_cursor"]
        if not page["has_more"]:
            return found


def alerted_lots(events: list[dict]) -> list[str]:
    return [event["data"]["lot_id"] for event in events]


async def certification_event(certification, admin_headers, certification_id: str, type: str) -> dict:
    page = (await certification.get("/v1/events", params={"type": type, "limit": 500},
                                    headers=admin_headers)).raise_for_status().json()
    [event] = [each for each in page["items"] if each["data"]["certification_id"] == certification_id]
    return event


def failing_certification() -> CertificationClient:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.AsyncClient(base_url="http://certification.test", transport=httpx.MockTransport(refuse))
    return CertificationClient(http, backoff_seconds=0)


@pytest.fixture
async def certified_origin(make_group, flows):
    """A certified cooperative (two members) and the path of its certification."""
    group = await make_group("Oro Alerta", members=2, near_forest_members=1)
    certified = await flows.certify(group)
    return group, certified


async def test_a_holder_of_lots_from_a_suspended_origin_is_alerted_once_per_lot(
    certified_origin, make_group, make_party, custody, mass, flows, traceability, traceability_app, certification,
    admin_headers,
):
    group, certified = certified_origin
    other_origin = await make_group("Oro Tranquilo", members=1, near_forest_members=0)
    buyer_a, buyer_b = await make_party("trader", "Alerted Trading"), await make_party("trader", "Quiet Trading")

    x1 = await custody.hand_over(group.manager, await custody.create(group.manager, group.far_sites[0], "1"), buyer_a)
    x2 = await custody.hand_over(group.manager, await custody.create(group.manager, group.far_sites[1], "2"), buyer_a)
    merged = await custody.merge(buyer_a.headers, [x1, x2])
    parts = (await custody.split(buyer_a.headers, merged, [mass("1"), mass("2")]))["lots"]
    at_origin = await custody.create(group.manager, group.far_sites[0], "0.5")
    y1 = await custody.hand_over(other_origin.manager,
                                 await custody.create(other_origin.manager, other_origin.far_sites[0], "1"), buyer_b)
    await run_round(traceability_app)  # whatever was pending before this test

    suspended = await flows.decide(group, certified.path, "suspend", reason="critical finding at the sluice")
    progress = await run_round(traceability_app)

    assert progress.certification_events >= 1 and progress.alerts >= 3
    seen_by_a = await alerts(traceability, buyer_a.headers)
    assert sorted(alerted_lots(seen_by_a)) == sorted(part["id"] for part in parts)  # not x1, x2 or merged: consumed
    assert await alerts(traceability, buyer_b.headers) == []
    assert alerted_lots(await alerts(traceability, group.manager)) == [at_origin["id"]]

    source = await certification_event(certification, admin_headers, suspended["id"], "certificate.suspended")
    alert = next(event for event in seen_by_a if event["data"]["lot_id"] == parts[0]["id"])
    assert alert["subject"] == f"lot:{parts[0]['id']}"
    assert alert["data"] == {
        "lot_id": parts[0]["id"], "code": parts[0]["code"], "custodian_id": buyer_a.id, "receiver_id": None,
        "cooperative_id": group.cooperative["id"], "certification_id": suspended["id"],
        "certificate_number": certified.certification["certificate_number"], "status": "suspended",
        "effective_on": source["data"]["effective_on"], "certification_event_id": source["id"],
    }
    assert y1["id"] not in alerted_lots(await alerts(traceability, admin_headers))

    again = await run_round(traceability_app)
    assert again == FeedProgress()
    assert await alerts(traceability, buyer_a.headers) == seen_by_a


async def test_a_lot_in_transit_alerts_its_custodian_and_its_receiver(
    certified_origin, make_party, custody, flows, traceability, traceability_app
):
    group, certified = certified_origin
    receiver = await make_party("trader", "Receiving Trading")
    lot = await custody.create(group.manager, group.far_sites[0], "1")
    await custody.dispatch(group.manager, lot, receiver.id)
    await run_round(traceability_app)

    await flows.decide(group, certified.path, "withdraw", reason="fraud")
    await run_round(traceability_app)

    [for_receiver] = await alerts(traceability, receiver.headers)
    [for_custodian] = await alerts(traceability, group.manager)
    assert for_receiver == for_custodian
    assert for_receiver["data"]["status"] == "withdrawn"
    assert for_receiver["data"]["custodian_id"] == group.cooperative["id"]
    assert for_receiver["data"]["receiver_id"] == receiver.id


async def test_a_suspension_then_a_withdrawal_alert_twice(
    certified_origin, make_party, custody, flows, traceability, traceability_app
):
    group, certified = certified_origin
    buyer = await make_party("trader", "Twice Trading")
    lot = await custody.hand_over(group.manager, await custody.create(group.manager, group.far_sites[0], "1"), buyer)

    await flows.decide(group, certified.path, "suspend", reason="overdue major finding")
    await flows.decide(group, certified.path, "withdraw", reason="not corrected")
    await run_round(traceability_app)

    seen = await alerts(traceability, buyer.headers)
    assert [(event["data"]["lot_id"], event["data"]["status"]) for event in seen] == [
        (lot["id"], "suspended"), (lot["id"], "withdrawn")]


async def test_certification_down_fails_the_round_and_the_next_one_catches_up(
    certified_origin, make_party, custody, flows, traceability, traceability_app
):
    group, certified = certified_origin
    buyer = await make_party("trader", "Patient Trading")
    lot = await custody.hand_over(group.manager, await custody.create(group.manager, group.far_sites[0], "1"), buyer)
    await run_round(traceability_app)
    await flows.decide(group, certified.path, "suspend", reason="critical finding")
    before = await stored_position(traceability_app.state.database)

    working = traceability_app.state.certification
    failing = traceability_app.state.certification = failing_certification()
    try:
        with pytest.raises(ServiceUnavailable):
            await run_round(traceability_app)
        await traceability_module._follow_certification_feed(traceability_app)  # the background job only logs it
    finally:
        traceability_app.state.certification = working
        await failing.http.aclose()
    assert await stored_position(traceability_app.state.database) == before
    assert await alerts(traceability, buyer.headers) == []

    await run_round(traceability_app)
    assert alerted_lots(await alerts(traceability, buyer.headers)) == [lot["id"]]
    assert await stored_position(traceability_app.state.database) > before


async def test_an_event_already_handled_by_another_round_is_not_alerted_again(
    certified_origin, make_party, custody, flows, traceability, traceability_app
):
    """Two replicas read the same page: the one whose cursor moved first alerts, the other stops."""
    group, certified = certified_origin
    buyer = await make_party("trader", "Raced Trading")
    await custody.hand_over(group.manager, await custody.create(group.manager, group.far_sites[0], "1"), buyer)
    await run_round(traceability_app)
    await flows.decide(group, certified.path, "suspend", reason="critical finding")
    database, client = traceability_app.state.database, traceability_app.state.certification
    position = await stored_position(database)
    [event] = (await client.events(after=str(position), types=["certificate.suspended"])).items[-1:]

    await run_round(traceability_app)
    assert await handle(database, event, position) is None
    assert len(await alerts(traceability, buyer.headers)) == 1


async def test_a_suspension_effective_before_production_flags_the_claims_at_once(
    make_group, make_party, custody, flows, traceability_app, clock
):
    """Certified ten days ago; a lot produced three days ago claims the certificate; the suspension is recorded
    late, effective five days ago. The round alerts the holder and the recheck flags the lot's claim right away."""
    group = await make_group("Oro Tardío", members=2, near_forest_members=1)
    clock.advance(days=-10)
    certified = await flows.certify(group)
    clock.advance(days=10)
    today = datetime.now(UTC).date()
    buyer = await make_party("trader", "Early Trading")
    lot = await custody.create(group.manager, group.far_sites[0], "1",
                               produced_on=(today - timedelta(days=3)).isoformat())
    assert lot["claims"]["certified"]
    lot = await custody.hand_over(group.manager, lot, buyer)
    await run_round(traceability_app)

    clock.advance(days=-5)
    await flows.decide(group, certified.path, "suspend", reason="critical finding, recorded late")
    clock.advance(days=5)
    progress = await run_round(traceability_app)

    assert progress.red_flags >= 1
    [flag] = await custody.red_flags(buyer.headers, lot_id=lot["id"])
    assert flag["rule"] == "suspended_claim"
    assert alerted_lots(await alerts(custody.client, buyer.headers)) == [lot["id"]]
