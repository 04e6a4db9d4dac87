"""EPCIS 2.0 through the API: a lot's history exported as a valid JSON-LD document, and capture of documents
from other systems, all or nothing, visible only to the capturing organisation.

The supply chain is built once for the module: three origin lots (one weighed in troy ounces) handed to a trader
(the first received lighter than dispatched), merged, smelted, split with a loss, and one part sold to a refiner.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import simplejson

from minka_traceability.epcis.validation import load_validator
from minka_traceability.epcis.vocabulary import BIZ_STEPS, DISPOSITIONS, SOURCE_DESTINATION_TYPES

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "epcis"
SCHEMA = SHARED / "EPCIS-JSON-Schema.json"
CAPTURED_TYPES = {"ObjectEvent", "TransformationEvent"}
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
PARTIES = ("owning_party", "possessing_party")


def read_json(raw: bytes | str) -> Any:
    return simplejson.loads(raw, use_decimal=True)


def events_of(document: dict) -> list[dict]:
    return document.get("epcisBody", {}).get("eventList", [])


def examples(capturable: bool) -> list[Path]:
    """GS1's EPCISDocument examples whose events are all ObjectEvents and TransformationEvents, or the others."""
    found = []
    for path in sorted((SHARED / "examples").glob("*.jsonld")):
        document = read_json(path.read_text(encoding="utf-8"))
        types = {event["type"] for event in events_of(document)}
        if document["type"] == "EPCISDocument" and (types <= CAPTURED_TYPES) == capturable:
            found.append(path)
    return found


CAPTURABLE_EXAMPLES = examples(capturable=True)
OTHER_EXAMPLES = examples(capturable=False)


def with_fresh_event_ids(path: Path) -> dict:
    """The example with a new eventID wherever it has one: GS1's examples share eventIDs among themselves, and
    an eventID is captured only once."""
    document = read_json(path.read_text(encoding="utf-8"))
    for event in events_of(document):
        if "eventID" in event:
            event["eventID"] = f"urn:uuid:{uuid.uuid4()}"
    return document


def encoded(document: Any) -> bytes:
    return simplejson.dumps(document, use_decimal=True).encode()


def problem_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


# --- the supply chain --------------------------------------------------------------------------------------------


@dataclass
class Chain:
    coop: dict
    trader: dict
    refiner: dict
    origins: list[dict]
    merged: dict
    dore: dict
    parts: list[dict]
    sold: dict


class Api:
    """The traceability API as one caller (module-scoped fixtures cannot use the function-scoped ``custody``)."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    async def post(self, path: str, body: dict, status: int = 201) -> dict:
        response = await self.client.post(path, json=body, headers=self.headers)
        assert response.status_code == status, response.text
        return response.json()


async def organisation(actors, kind: str, name: str, role: str) -> dict:
    organization = await actors.organization(kind, name)
    return {**organization, "headers": await actors.headers(role, organization["id"])}


async def hand_over(traceability, sender: dict, lot: dict, receiver: dict, received: str | None = None) -> dict:
    transfer = await Api(traceability, sender["headers"]).post(f"/v1/lots/{lot['id']}/dispatch",
                                                               {"to_organization_id": receiver["id"]})
    body = {"received_mass": {"value": received, "unit": "kg"}} if received else {}
    return (await Api(traceability, receiver["headers"]).post(f"/v1/transfers/{transfer['id']}/receive", body,
                                                              200))["lot"]


@pytest.fixture(scope="module")
async def chain(actors, registry, traceability) -> Chain:
    coop = await organisation(actors, "cooperative", "EPCIS coop", "coop_manager")
    site = await registry.post("/v1/sites", headers=coop["headers"], json={
        "cooperative_id": coop["id"], "name": "EPCIS pit", "minerals": ["gold"], "method": "alluvial",
        "geometry": {"type": "Point", "coordinates": [-102.2, 10.0]}})
    assert site.status_code == 201, site.text
    trader = await organisation(actors, "trader", "EPCIS trader", "buyer")
    refiner = await organisation(actors, "refiner", "EPCIS refiner", "buyer")

    producer = Api(traceability, coop["headers"])
    origins = [await producer.post("/v1/lots", {"site_id": site.json()["id"], "commodity": "gold", "form": "ore",
                                                "mass": {"value": value, "unit": unit},
                                                "produced_on": date.today().isoformat()})
               for value, unit in (("1.5", "kg"), ("500", "g"), ("16.0754", "oz_t"))]
    held = [await hand_over(traceability, coop, origins[0], trader, received="1.49"),
            *[await hand_over(traceability, coop, lot, trader) for lot in origins[1:]]]
    trading = Api(traceability, trader["headers"])
    merged = await trading.post("/v1/merges", {"lot_ids": [lot["id"] for lot in held]})
    dore = await trading.post(f"/v1/lots/{merged['id']}/transform", {
        "output_form": "dore", "output_mass": {"value": "2.2", "unit": "kg"}, "process": "smelting"})
    parts = (await trading.post(f"/v1/lots/{dore['id']}/split", {
        "parts": [{"mass": {"value": "1.5", "unit": "kg"}}, {"mass": {"value": "690", "unit": "g"}}],
        "loss": {"value": "10", "unit": "g"}}))["lots"]
    sold = await hand_over(traceability, trader, parts[0], refiner)
    return Chain(coop, trader, refiner, origins, merged, dore, parts, sold)


@pytest.fixture(scope="module")
async def exported(chain, traceability) -> httpx.Response:
    """The EPCIS document of the refiner's lot, as the refiner asked for it."""
    return await traceability.get(f"/v1/lots/{chain.sold['id']}/epcis", headers=chain.refiner["headers"])


@pytest.fixture(scope="module")
def document(exported) -> dict:
    assert exported.status_code == 200, exported.text
    return read_json(exported.content)


@pytest.fixture(scope="module")
async def capturer(actors) -> dict:
    """A trader whose own system captures documents; nothing else captures as this organisation."""
    return await organisation(actors, "trader", "EPCIS capturer", "buyer")


def epc_classes(event: dict) -> set[str]:
    return {quantity["epcClass"] for name in ("quantityList", "inputQuantityList", "outputQuantityList")
            for quantity in event.get(name, [])}


def lot_uri(document: dict, lot: dict) -> str:
    """The EPC class of a lot in the document (the base URI is a deployment setting)."""
    found = set().union(*map(epc_classes, events_of(document)))
    [uri] = [epc_class for epc_class in found if epc_class.endswith(f"/lots/{lot['id']}")]
    return uri


def party(uri: str, organization: dict) -> bool:
    return uri.endswith(f"/organizations/{organization['id']}")


def exact_number(value: Any) -> bool:
    """A JSON number read exactly (a decimal fraction, or an integer), never a string or a float."""
    return isinstance(value, Decimal | int) and not isinstance(value, bool)


def kg(quantities: list[dict]) -> Decimal:
    assert all(quantity["uom"] == "KGM" and exact_number(quantity["quantity"]) for quantity in quantities)
    return sum((quantity["quantity"] for quantity in quantities), Decimal(0))


# --- export ------------------------------------------------------------------------------------------------------


def test_the_export_is_a_json_ld_epcis_document_that_validates(exported, document):
    assert exported.headers["content-type"].startswith("application/ld+json")
    assert load_validator(SCHEMA).errors(document) == []
    assert document["type"] == "EPCISDocument" and document["schemaVersion"] == "2.0"
    assert EPCIS_CONTEXT in document["@context"]
    # 3 creations, 4 dispatches and 4 receipts, the merge, the smelting and the split.
    assert len(events_of(document)) == 14
    assert {event["type"] for event in events_of(document)} == CAPTURED_TYPES


def test_each_origin_lot_is_commissioned_with_its_exact_mass_in_kilograms(chain, document):
    commissioned = [event for event in events_of(document) if event.get("bizStep") == "commissioning"]
    assert len(commissioned) == 3
    for lot, event in zip(chain.origins, sorted(commissioned, key=lambda event: event["eventTime"]), strict=True):
        assert event["type"] == "ObjectEvent" and event["action"] == "ADD"
        assert event["quantityList"] == [{"epcClass": lot_uri(document, lot), "quantity": Decimal(lot["mass_kg"]),
                                          "uom": "KGM"}]
        assert event["ilmd"]["minka:lotCode"] == lot["code"]
    assert chain.origins[2]["mass_kg"] == "0.50000083095072"


def test_handovers_are_shipping_and_receiving_between_owning_and_possessing_parties(chain, document):
    shipped = [event for event in events_of(document) if event.get("bizStep") == "shipping"]
    received = [event for event in events_of(document) if event.get("bizStep") == "receiving"]
    assert len(shipped) == len(received) == 4
    for event in shipped + received:
        assert event["type"] == "ObjectEvent" and event["action"] == "OBSERVE"
        assert [source["type"] for source in event["sourceList"]] == list(PARTIES)
        assert [destination["type"] for destination in event["destinationList"]] == list(PARTIES)
    to_refiner = [event for event in shipped + received
                  if all(party(destination["destination"], chain.refiner) for destination in event["destinationList"])]
    assert len(to_refiner) == 2
    assert all(party(source["source"], chain.trader) for event in to_refiner for source in event["sourceList"])
    light = [event for event in received if event["quantityList"][0]["epcClass"] == lot_uri(document, chain.origins[0])]
    assert [(event["quantityList"][0]["quantity"], event["minka:dispatchedKg"]) for event in light] == [
        (Decimal("1.49"), Decimal("1.5"))]
    assert all(party(source["source"], chain.coop) for event in light for source in event["sourceList"])


def test_split_merge_and_transform_are_transformations_that_balance_exactly(chain, document):
    transformations = {event["minka:operation"]: event for event in events_of(document)
                       if event["type"] == "TransformationEvent"}
    assert set(transformations) == {"merge", "transform", "split"}
    for event in transformations.values():
        assert event["bizStep"] == "creating_class_instance"
        loss = event["minka:declaredLossKg"]
        assert exact_number(loss)
        assert kg(event["inputQuantityList"]) == kg(event["outputQuantityList"]) + loss
    merge, smelting, split = (transformations[name] for name in ("merge", "transform", "split"))
    assert kg(merge["inputQuantityList"]) == Decimal("2.49000083095072") and merge["minka:declaredLossKg"] == 0
    assert smelting["minka:declaredLossKg"] == Decimal("0.29000083095072")
    assert smelting["outputQuantityList"][0]["epcClass"] == lot_uri(document, chain.dore)
    assert split["minka:declaredLossKg"] == Decimal("0.01")
    assert {quantity["epcClass"]: quantity["quantity"] for quantity in split["outputQuantityList"]} == {
        lot_uri(document, chain.parts[0]): Decimal("1.5"), lot_uri(document, chain.parts[1]): Decimal("0.69")}


def test_only_cbv_terms_are_used(document):
    for event in events_of(document):
        assert event["bizStep"] in BIZ_STEPS and event["disposition"] in DISPOSITIONS
        for entry in event.get("sourceList", []) + event.get("destinationList", []):
            assert entry["type"] in SOURCE_DESTINATION_TYPES
        extensions = {key.partition(":")[0] for key in event if ":" in key}
        assert extensions <= {"minka"}, extensions


async def test_another_organisation_may_not_export_the_lot(chain, traceability, capturer):
    response = await traceability.get(f"/v1/lots/{chain.sold['id']}/epcis", headers=capturer["headers"])
    assert response.status_code == 404 and response.headers["content-type"].startswith("application/problem+json")


# --- capture -----------------------------------------------------------------------------------------------------


async def captured_events(traceability, headers: dict, **params) -> list[Any]:
    """Every event the caller's organisation captured (or those naming ``epc``), oldest first, numbers exact."""
    items: list[Any] = []
    cursor = None
    while True:
        response = await traceability.get("/v1/epcis/events", headers=headers,
                                          params={"limit": 500, **params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = read_json(response.content)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def capture(traceability, headers: dict, body: bytes) -> httpx.Response:
    return await traceability.post("/v1/epcis/capture", content=body,
                                   headers={**headers, "Content-Type": "application/ld+json"})


def test_the_gs1_examples_are_all_there():
    assert (len(CAPTURABLE_EXAMPLES), len(OTHER_EXAMPLES)) == (27, 17)


@pytest.mark.parametrize("example", CAPTURABLE_EXAMPLES, ids=lambda path: path.name)
async def test_a_gs1_example_of_object_and_transformation_events_is_captured(example, traceability, capturer):
    document = with_fresh_event_ids(example)
    before = await captured_events(traceability, capturer["headers"])

    response = await capture(traceability, capturer["headers"], encoded(document))
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"].endswith(f"/v1/epcis/capture/{job['captureID']}")
    assert job["success"] is True and job["eventCount"] == len(events_of(document))
    found = await traceability.get(f"/v1/epcis/capture/{job['captureID']}", headers=capturer["headers"])
    assert found.status_code == 200 and found.json() == job
    after = await captured_events(traceability, capturer["headers"])
    assert after == before + events_of(document)


@pytest.mark.parametrize("example", OTHER_EXAMPLES, ids=lambda path: path.name)
async def test_a_gs1_example_with_other_event_types_is_refused(example, traceability, capturer):
    document = with_fresh_event_ids(example)
    before = await captured_events(traceability, capturer["headers"])

    response = await capture(traceability, capturer["headers"], encoded(document))
    other = [(index, event["type"]) for index, event in enumerate(events_of(document))
             if event["type"] not in CAPTURED_TYPES]
    assert other and problem_fields(response) == [f"epcisBody.eventList[{index}].type" for index, _ in other]
    assert [error["reason"].split()[0] for error in response.json()["errors"]] == [kind for _, kind in other]
    assert await captured_events(traceability, capturer["headers"]) == before


async def test_a_query_document_is_not_captured(traceability, capturer):
    document = read_json((SHARED / "examples" / "EPCISQueryDocument.jsonld").read_text(encoding="utf-8"))
    assert problem_fields(await capture(traceability, capturer["headers"], encoded(document))) == ["type"]


def object_event(epc_class: str, **fields: Any) -> dict:
    return {"type": "ObjectEvent", "eventTime": "2024-05-01T08:00:00.000Z", "eventTimeZoneOffset": "+00:00",
            "eventID": f"urn:uuid:{uuid.uuid4()}", "action": "OBSERVE", "bizStep": "receiving",
            "quantityList": [{"epcClass": epc_class, "quantity": Decimal("12.5000000000000001"), "uom": "KGM"}],
            **fields}


def transformation(epc_class: str, inputs: str, outputs: str, loss: str) -> dict:
    return {"type": "TransformationEvent", "eventTime": "2024-05-01T09:00:00.000Z",
            "eventTimeZoneOffset": "+00:00", "eventID": f"urn:uuid:{uuid.uuid4()}",
            "bizStep": "creating_class_instance",
            "inputQuantityList": [{"epcClass": epc_class, "quantity": Decimal(inputs), "uom": "KGM"}],
            "outputQuantityList": [{"epcClass": f"{epc_class}-out", "quantity": Decimal(outputs), "uom": "KGM"}],
            "minka:declaredLossKg": Decimal(loss)}


def epcis_document(*events: dict) -> dict:
    return {"@context": [EPCIS_CONTEXT, {"minka": "https://minka.example/epcis/"}], "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": "2024-05-01T10:00:00.000Z",
            "epcisBody": {"eventList": list(events)}}


def new_epc_class() -> str:
    return f"https://id.other-system.example/lots/{uuid.uuid4()}"


async def test_a_document_with_three_invalid_events_is_refused_as_a_whole(traceability, capturer):
    epc_class = new_epc_class()
    document = epcis_document(
        object_event(epc_class),
        object_event(epc_class, bizStep="teleporting"),
        object_event(epc_class, readPoint={"id": "not a uri"}),
        transformation(epc_class, inputs="10", outputs="9", loss="0.5"),
    )
    before = await captured_events(traceability, capturer["headers"])

    response = await capture(traceability, capturer["headers"], encoded(document))
    assert problem_fields(response) == ["epcisBody.eventList[1].bizStep", "epcisBody.eventList[2].readPoint.id",
                                        "epcisBody.eventList[3].minka:declaredLossKg"]
    assert "3 problem(s)" in response.json()["detail"]
    assert await captured_events(traceability, capturer["headers"], epc=epc_class) == []
    assert await captured_events(traceability, capturer["headers"]) == before


async def test_the_same_document_is_captured_once(traceability, capturer):
    body = encoded(epcis_document(object_event(new_epc_class()), transformation(new_epc_class(), "10", "9.5", "0.5")))

    assert (await capture(traceability, capturer["headers"], body)).status_code == 202
    again = await capture(traceability, capturer["headers"], body)
    assert problem_fields(again) == ["epcisBody.eventList[0].eventID", "epcisBody.eventList[1].eventID"]
    assert {error["reason"] for error in again.json()["errors"]} == {"already captured"}


@pytest.mark.parametrize("body", [b"", b"not json", b'{"type": "EPCISDocument",', b"\xff\xfe{}", b"<EPCISDocument/>"])
async def test_what_is_not_json_is_refused_with_a_problem(traceability, capturer, body):
    response = await capture(traceability, capturer["headers"], body)
    assert problem_fields(response) == ["body"]
    assert response.json()["status"] == 422 and response.json()["title"]


async def test_captured_events_are_found_by_epc_class_by_their_organisation_only(traceability, capturer, actors):
    epc_class = new_epc_class()
    event = object_event(epc_class)
    response = await capture(traceability, capturer["headers"], encoded(epcis_document(event)))
    assert response.status_code == 202, response.text
    capture_path = f"/v1/epcis/capture/{response.json()['captureID']}"

    assert await captured_events(traceability, capturer["headers"], epc=epc_class) == [event]
    other = await organisation(actors, "trader", "EPCIS outsider", "buyer")
    assert await captured_events(traceability, other["headers"], epc=epc_class) == []
    assert (await traceability.get(capture_path, headers=other["headers"])).status_code == 404
    admin = await actors.headers("admin")
    assert await captured_events(traceability, admin, epc=epc_class) == [event]


async def test_an_exported_document_is_captured_as_is_by_another_system(chain, exported, document, traceability,
                                                                      capturer):
    response = await capture(traceability, capturer["headers"], exported.content)
    assert response.status_code == 202, response.text
    assert response.json()["eventCount"] == len(events_of(document)) == 14

    part = lot_uri(document, chain.sold)
    naming_the_part = await captured_events(traceability, capturer["headers"], epc=part)
    assert naming_the_part == [event for event in events_of(document) if part in epc_classes(event)]
    assert [event["bizStep"] for event in naming_the_part] == ["creating_class_instance", "shipping", "receiving"]
    assert await captured_events(traceability, chain.refiner["headers"], epc=part) == []
    again = await capture(traceability, capturer["headers"], exported.content)
    assert len(problem_fields(again)) == 14


# --- capture as a job --------------------------------------------------------------------------------------------


async def follow_capture(traceability, headers: dict, accepted: httpx.Response) -> dict:
    """The capture job of a 202 once it is no longer running (GET its Location, as an EPCIS client does)."""
    assert accepted.status_code == 202, accepted.text
    path = accepted.headers["location"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = (await traceability.get(path, headers=headers)).json()
        if not job["running"]:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError("the capture job did not finish")


async def test_a_capture_asked_as_a_job_runs_after_the_answer_and_is_found_at_its_location(traceability, capturer):
    epc_class = new_epc_class()
    document = epcis_document(object_event(epc_class), transformation(epc_class, inputs="10", outputs="9.5",
                                                                      loss="0.5"))
    headers = capturer["headers"] | {"Prefer": "respond-async"}
    accepted = await capture(traceability, headers, encoded(document))
    assert accepted.json()["running"] is True and accepted.json()["finishedAt"] is None
    job = await follow_capture(traceability, capturer["headers"], accepted)
    assert (job["success"], job["eventCount"], job["errors"]) == (True, 2, [])
    assert job["captureID"] == accepted.json()["captureID"]
    assert len(await captured_events(traceability, capturer["headers"], epc=epc_class)) == 2


async def test_a_refused_capture_job_lists_the_problems_and_stores_nothing(traceability, capturer, actors):
    epc_class = new_epc_class()
    document = epcis_document(object_event(epc_class), object_event(epc_class, bizStep="teleporting"))
    accepted = await capture(traceability, capturer["headers"] | {"Prefer": "respond-async"}, encoded(document))
    job = await follow_capture(traceability, capturer["headers"], accepted)
    assert job["success"] is False and job["running"] is False
    assert [error["field"] for error in job["errors"]] == ["epcisBody.eventList[1].bizStep"]
    assert await captured_events(traceability, capturer["headers"], epc=epc_class) == []
    stranger = await organisation(actors, "trader", "EPCIS stranger", "buyer")
    assert (await traceability.get(accepted.headers["location"], headers=stranger["headers"])).status_code == 404
