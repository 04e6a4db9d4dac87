"""Traceability's event feed: lots created, handed over and consumed, and red flags, each seen by the organisations
involved in it (custodian, dispatcher and receiver, cooperative of origin), never by another tenant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from event_support import before, events, feed


def kinds(seen: list[dict]) -> list[tuple[str, str]]:
    """(type, lot id) of each event."""
    return [(event["type"], event["data"]["lot_id"]) for event in seen]


async def test_each_custody_step_is_an_event_for_the_organisations_involved_only(
    traceability, custody, mass, make_producer, make_party, actors, admin_headers
):
    producer, site = await make_producer("Cooperativa Eventos Lotes")
    trader = await make_party("trader", "Eventos Trader")
    refiner = await make_party("refiner", "Eventos Refiner")
    lot = await custody.create(producer.headers, site, "10")
    transfer = await custody.dispatch(producer.headers, lot, trader.id)
    await custody.receive(trader.headers, transfer)
    parts = (await custody.split(trader.headers, lot, [mass("6"), mass("4")]))["lots"]
    merged = await custody.merge(trader.headers, parts)
    dore = await custody.transform(trader.headers, merged, mass("9.5"))
    onwards = await custody.dispatch(trader.headers, dore, refiner.id)

    created, dispatched, received = await events(traceability, producer.headers)
    assert kinds([created, dispatched, received]) == [("lot.created", lot["id"]), ("lot.dispatched", lot["id"]),
                                                      ("lot.received", lot["id"])]
    assert created["subject"] == f"lot:{lot['id']}"
    custody_event = created["data"]["custody_event_id"]
    assert created["data"] == {
        "lot_id": lot["id"], "code": lot["code"], "commodity": "gold", "form": "ore",
        "mass": {"value": "10", "unit": "kg"}, "chain_of_custody": lot["chain_of_custody"],
        "custodian_id": producer.id, "tier": None, "custody_event": "create", "custody_event_id": custody_event,
        "cooperative_id": producer.id, "site_id": site["id"], "produced_on": lot["origin"]["produced_on"],
        "certificate_number": None,
    }
    assert dispatched["data"] == {"lot_id": lot["id"], "code": lot["code"], "transfer_id": transfer["id"],
                                  "from_organization_id": producer.id, "to_organization_id": trader.id,
                                  "mass": {"value": "10", "unit": "kg"}}
    assert received["data"]["mass"] == received["data"]["dispatched_mass"] == {"value": "10", "unit": "kg"}

    trader_seen = await events(traceability, trader.headers)
    split_ids = [part["id"] for part in parts]
    assert kinds(trader_seen) == [
        ("lot.dispatched", lot["id"]), ("lot.received", lot["id"]),
        ("lot.consumed", lot["id"]), ("lot.created", split_ids[0]), ("lot.created", split_ids[1]),
        ("lot.consumed", split_ids[0]), ("lot.consumed", split_ids[1]), ("lot.created", merged["id"]),
        ("lot.consumed", merged["id"]), ("lot.created", dore["id"]),
        ("lot.dispatched", dore["id"]),
    ]
    consumed_by_split = trader_seen[2]["data"]
    assert (consumed_by_split["custody_event"], consumed_by_split["output_lot_ids"]) == ("split", split_ids)
    assert consumed_by_split["mass"] == {"value": "10", "unit": "kg"}
    made_by_merge = trader_seen[7]["data"]
    assert (made_by_merge["custody_event"], made_by_merge["input_lot_ids"]) == ("merge", split_ids)
    assert "cooperative_id" not in made_by_merge and made_by_merge["custodian_id"] == trader.id
    assert trader_seen[9]["data"]["mass"] == {"value": "9.5", "unit": "kg"}

    [named_receiver] = await events(traceability, refiner.headers)
    assert named_receiver["data"]["transfer_id"] == onwards["id"]

    everything = await events(traceability, admin_headers, after=before(created))
    assert {e["id"] for e in trader_seen + [created]} <= {e["id"] for e in everything}
    other_producer, _ = await make_producer("Cooperativa Eventos Vecina")
    other_buyer = await make_party("buyer", "Eventos Otro Comprador")
    certifier = await actors.headers("certifier", (await actors.organization("certification_body"))["id"])
    for headers in (other_producer.headers, other_buyer.headers, certifier):
        assert await events(traceability, headers, after=before(created)) == []


async def test_red_flags_are_events_of_the_flagged_lot(traceability, custody, mass, make_producer, make_party):
    producer, site = await make_producer("Cooperativa Eventos Banderas", capacity_kg_per_month="100")
    trader = await make_party("trader", "Eventos Trader Banderas")
    too_much = await custody.create(producer.headers, site, "150")
    transfer = await custody.dispatch(producer.headers, too_much, trader.id)
    await custody.receive(trader.headers, transfer, mass("140"))
    nobody = str(uuid.uuid4())
    unknown = await custody.create(producer.headers, site, "1")  # still above the month's capacity
    await custody.dispatch(producer.headers, unknown, nobody)

    seen = [e for e in await events(traceability, producer.headers) if e["type"] == "red_flag.raised"]
    assert [(e["subject"], e["data"]["rule"]) for e in seen] == [
        (f"lot:{too_much['id']}", "above_capacity"), (f"lot:{too_much['id']}", "mass_discrepancy"),
        (f"lot:{unknown['id']}", "above_capacity"), (f"lot:{unknown['id']}", "unregistered_custodian")]
    capacity = seen[0]["data"]
    flags = await custody.red_flags(producer.headers, lot_id=too_much["id"])
    assert capacity["red_flag_id"] in {flag["id"] for flag in flags}
    assert capacity["code"] == too_much["code"] and capacity["details"]["capacity_kg_per_month"] == "100"
    assert capacity["message"]
    trader_flags = [e["data"]["rule"] for e in await events(traceability, trader.headers) if e["type"] == "red_flag.raised"]
    assert trader_flags == ["mass_discrepancy"]  # the receiver, as well as the dispatcher

    trader_seen = kinds(await events(traceability, trader.headers))
    assert trader_seen.index(("lot.received", too_much["id"])) < trader_seen.index(("red_flag.raised", too_much["id"]))


async def test_rejected_writes_record_no_event(traceability, custody, mass, make_producer, make_party):
    producer, site = await make_producer("Cooperativa Eventos Rechazos")
    trader = await make_party("trader", "Eventos Trader Rechazos")
    lot = await custody.create(producer.headers, site, "5")
    transfer = await custody.dispatch(producer.headers, lot, trader.id)
    seen = await events(traceability, producer.headers)

    await custody.dispatch(producer.headers, lot, trader.id, status=409)  # in transit
    await custody.receive(producer.headers, transfer, status=403)
    await custody.receive(trader.headers, transfer)
    await custody.receive(trader.headers, transfer, status=409)  # received already
    await custody.split(trader.headers, lot, [mass("3"), mass("1")], status=422)  # 4 kg of 5
    await custody.transform(trader.headers, lot, mass("6"), status=422)
    await custody.split(trader.headers, lot, [mass("3"), mass("2")])
    await custody.split(trader.headers, lot, [mass("3"), mass("2")], status=409)  # consumed
    await custody.create(producer.headers, site, "1", produced_on="2999-01-01", status=422)

    assert [e["type"] for e in await events(traceability, producer.headers)] == [e["type"] for e in seen] + [
        "lot.received"]
    trader_types = [e["type"] for e in await events(traceability, trader.headers)]
    assert trader_types == ["lot.dispatched", "lot.received", "lot.consumed", "lot.created", "lot.created"]


async def test_feed_paging_filters_and_bad_requests(traceability, custody, make_producer, admin_headers):
    producer, site = await make_producer("Cooperativa Eventos Páginas")
    for value in ("1", "2", "3"):
        await custody.create(producer.headers, site, value)

    first = await feed(traceability, producer.headers, limit=2)
    assert len(first["items"]) == 2 and first["has_more"]
    rest = await feed(traceability, producer.headers, after=first["next_cursor"])
    assert [e["data"]["mass"]["value"] for e in first["items"] + rest["items"]] == ["1", "2", "3"]
    assert await feed(traceability, producer.headers, after=rest["next_cursor"]) == {
        "items": [], "next_cursor": rest["next_cursor"], "has_more": False}
    assert (await feed(traceability, producer.headers, type=["lot.dispatched", "red_flag.raised"]))["items"] == []
    assert (await feed(traceability, producer.headers, type="lot.origin_certificate_suspended"))["items"] == []
    occurred = datetime.fromisoformat(first["items"][0]["occurred_at"].replace("Z", "+00:00"))
    assert occurred.tzinfo is not None and occurred <= datetime.now(UTC)

    for params in ({"after": "one"}, {"after": " 1"}, {"type": "lot.stolen"}, {"limit": 501}):
        response = await traceability.get("/v1/events", params=params, headers=admin_headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
