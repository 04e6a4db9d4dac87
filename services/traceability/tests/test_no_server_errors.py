"""Malformed input never gets a 500: every route of the traceability API is sent junk, with and without a token.

First every write of the OpenAPI spec gets junk bodies and every read junk path and query parameters (made from
each parameter's schema); then each write gets bodies that are nearly right, aimed at real lots, a transfer and a
red flag: floats, NaN, huge and tiny numbers, NUL characters and very long strings in masses and text fields,
wrong types, empty and oversized lists (10,000 parts in a split), malformed UUIDs; and the EPCIS capture gets
documents that are not JSON, or JSON that the schema lets through but the tables could not hold. Afterwards the
lots, the transfer and the flag are exactly as they were.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

import httpx
import pytest

PROBLEM_JSON = "application/problem+json"
NIL = "00000000-0000-0000-0000-000000000000"

JUNK_BODIES = [
    b"",
    b"not json",
    b"{",
    b"null",
    b"[]",
    b"{}",
    b'"text"',
    b"12",
    b"NaN",
    b"1e999999999",
    b"\x00",
    b"\xff\xfe\xfd",
    b'{"a": "\\u0000"}',
    b"[" * 50_000,
    b'{"lot_ids": "' + b"x" * 100_000 + b'"}',
    b'{"mass": {"value": ' + b"9" * 5_000 + b', "unit": "kg"}}',
    b'{"parts": [], "lot_ids": [], "note": 5, "to_organization_id": "not-a-uuid", "received_mass": []}',
    b'{"site_id": "nope", "commodity": 1, "form": null, "mass": {"value": NaN, "unit": "kg"}, "produced_on": 0}',
]
SENDINGS = [(body, "application/json") for body in JUNK_BODIES] + [
    (body, content_type) for body in (b"{}", b"a=1&b=2", b'{"lot_ids": []}')
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "")]
"""Each junk body as JSON, and a few under a content type that is not JSON (or none)."""


def problem_response(response: httpx.Response, context: Any = None) -> None:
    """A 4xx answer with a problem body: never a 500, never a 2xx for junk."""
    assert 400 <= response.status_code < 500, (context, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith(PROBLEM_JSON), (context, response.headers)
    assert response.json()["status"] == response.status_code


def concrete(path: str, value: str | None = None) -> str:
    """The path with every ``{parameter}`` replaced (by a new UUID unless a value is given)."""
    return re.sub(r"\{[^}]+\}", lambda _: value if value is not None else str(uuid.uuid4()), path)


@dataclass
class Callers:
    admin: dict[str, str]
    buyer: dict[str, str]
    manager: dict[str, str]

    def all(self) -> list[dict[str, str]]:
        return [{}, self.admin, self.buyer, self.manager]


@pytest.fixture(scope="module")
async def callers(actors) -> Callers:
    trader = await actors.organization("trader", "Junk trader")
    _, manager = await actors.cooperative_manager("Junk cooperative")
    return Callers(await actors.headers("admin"), await actors.headers("buyer", trader["id"]), manager)


@pytest.fixture(scope="module")
async def spec(traceability) -> dict:
    response = await traceability.get("/openapi.json")
    assert response.status_code == 200, response.text
    return response.json()


def operations(spec: dict, methods: set[str]) -> list[tuple[str, str, dict]]:
    return [(method.upper(), path, operation) for path, by_method in spec["paths"].items()
            for method, operation in by_method.items() if method in methods]


# --- every route of the spec -------------------------------------------------------------------------------------


async def test_junk_bodies_on_every_write_get_4xx_problems(traceability, spec, callers):
    writes = operations(spec, {"post", "patch", "put"})
    assert {path for _, path, _ in writes} >= {"/v1/lots", "/v1/lots/{lot_id}/split", "/v1/merges",
                                               "/v1/lots/{lot_id}/transform", "/v1/lots/{lot_id}/dispatch",
                                               "/v1/transfers/{transfer_id}/receive", "/v1/red-flags/{flag_id}/close",
                                               "/v1/epcis/capture"}
    for method, path, operation in writes:
        # A route that takes no body ignores it: an admin asking for a recheck gets one, whatever it sent.
        takes_body = "requestBody" in operation or path == "/v1/epcis/capture"
        for headers in callers.all() if takes_body else [{}, callers.buyer, callers.manager]:
            for index, (body, content_type) in enumerate(SENDINGS):
                sent = {**headers, **({"Content-Type": content_type} if content_type else {})}
                if index % 2:  # half of them through the idempotency layer
                    sent["Idempotency-Key"] = str(uuid.uuid4())
                response = await traceability.request(method, concrete(path), content=body, headers=sent)
                problem_response(response, (method, path, body[:40], content_type))


def junk_values(schema: dict, components: dict) -> list[str]:
    """Values a query or path parameter of this schema must refuse."""
    alternatives = schema.get("anyOf", [schema])
    junk = ["\x00", "a\x00b"]
    for alternative in alternatives:
        if "$ref" in alternative:
            alternative = components[alternative["$ref"].rsplit("/", 1)[1]]
        kind = alternative.get("type")
        if alternative.get("format") == "uuid":
            junk += ["not-a-uuid", "0", "x" * 2_000, f"{NIL}0", "{" + NIL + "}x"]
        elif "enum" in alternative:
            junk += ["bogus", "ACTIVE ", "x" * 2_000]
        elif kind == "integer":
            junk += ["abc", "1.5", "-1", "0", "1e3", "9" * 60, "NaN", "501"]
        elif kind == "boolean":
            junk += ["maybe", "2", "-"]
        elif kind == "string" and "maxLength" in alternative:
            junk += ["x" * (alternative["maxLength"] + 1)]
        elif kind == "string":  # the cursor
            junk += ["!!!", "x" * 2_000, "AAAA", "%%%"]
    return junk


async def test_junk_path_and_query_parameters_on_every_read_get_4xx_problems(traceability, spec, callers):
    components = spec["components"]["schemas"]
    reads = [(path, operation) for _, path, operation in operations(spec, {"get"}) if operation.get("parameters")]
    assert len(reads) >= 11
    for path, operation in reads:
        for parameter in operation["parameters"]:
            for value in junk_values(parameter["schema"], components):
                if parameter["in"] == "path":
                    url, params = concrete(path, quote(value, safe="")), {}
                else:
                    url, params = concrete(path), {parameter["name"]: value}
                for headers in callers.all():
                    response = await traceability.get(url, params=params, headers=headers)
                    problem_response(response, (path, parameter["name"], value[:40], bool(headers)))


async def test_an_unusable_idempotency_key_is_refused(traceability, callers):
    for key in ("", "k" * 256):
        response = await traceability.post("/v1/merges", json={"lot_ids": []},
                                           headers={**callers.buyer, "Idempotency-Key": key})
        problem_response(response, key[:10])


# --- near misses on real objects ---------------------------------------------------------------------------------


@dataclass
class Targets:
    """A cooperative's two lots, one in transit to a trader, and a red flag on a third."""

    manager: dict[str, str]
    trader: dict[str, str]
    admin: dict[str, str]
    site: dict
    lot: dict
    other_lot: dict
    transfer: dict
    flag: dict
    certification_body: dict


@pytest.fixture(scope="module")
async def targets(actors, registry, traceability, callers) -> Targets:
    cooperative, manager = await actors.cooperative_manager("Junk targets")
    site = await registry.post("/v1/sites", headers=manager, json={
        "cooperative_id": cooperative["id"], "name": "Junk pit", "minerals": ["gold"], "method": "alluvial",
        "geometry": {"type": "Point", "coordinates": [-103.4, 10.0]}})
    assert site.status_code == 201, site.text
    trader = await actors.organization("trader", "Junk receiver")
    trader_headers = await actors.headers("buyer", trader["id"])

    async def post(path: str, body: dict) -> dict:
        response = await traceability.post(path, json=body, headers=manager)
        assert response.status_code == 201, response.text
        return response.json()

    lot_body = {"site_id": site.json()["id"], "commodity": "gold", "form": "ore",
                "mass": {"value": "1", "unit": "kg"}, "produced_on": date.today().isoformat()}
    lot, other_lot, sent, flagged = [await post("/v1/lots", lot_body) for _ in range(4)]
    transfer = await post(f"/v1/lots/{sent['id']}/dispatch", {"to_organization_id": trader["id"]})
    await post(f"/v1/lots/{flagged['id']}/dispatch", {"to_organization_id": str(uuid.uuid4())})
    flags = await traceability.get("/v1/red-flags", params={"lot_id": flagged["id"]}, headers=manager)
    [flag] = flags.json()["items"]
    return Targets(manager, trader_headers, callers.admin, site.json(), lot, other_lot, transfer, flag,
                   await actors.organization("certification_body", "Junk certifiers"))


def mass(value: Any, unit: Any = "kg") -> dict:
    return {"value": value, "unit": unit}


JUNK_MASSES: list[Any] = [
    mass(1.5), mass(1.0), mass(float("nan")), mass(float("inf")), mass(-float("inf")), mass(10**30), mass(-1),
    mass("NaN"), mass("sNaN"), mass("Infinity"), mass("-Infinity"), mass("1e999999999"), mass("-1e999999999"),
    mass("1e70"), mass("1e-999999999"), mass("0.00000000000000001"), mass("1." + "0" * 100 + "1"), mass("-1"),
    mass("0"), mass("-0"), mass(""), mass("  "), mass("1\x00"), mass("\x00"), mass("9" * 10_000), mass("1,5"),
    mass("1 kg"), mass("0x10"), mass(True), mass(None), mass([1]), mass({"value": 1}),
    mass("1", "lb"), mass("1", ""), mass("1", None), mass("1", 5), mass("1", "KG"), mass("1", "kg\x00"),
    {"value": "1"}, {"unit": "kg"}, {"value": "1", "unit": "kg", "kg": "1"}, "1 kg", 5, [], {}, None, True,
]
"""Each refused wherever a mass is asked for (a positive one, except where zero would do)."""
JUNK_TEXTS: list[Any] = ["\x00", "a\x00b", "x" * 10_000, "\ud800", "", "é" * 10_000, 5, 1.5, [], {}, True]
"""Each refused wherever free text is asked for (a place, a process, a closing note)."""
JUNK_UUIDS: list[Any] = ["not-a-uuid", "", "0", "\x00", f"{NIL}0", "x" * 10_000, 5, 1.5, [], {}, True]


def lot_creations(targets: Targets) -> list[dict]:
    good = {"site_id": targets.site["id"], "commodity": "gold", "form": "ore", "mass": mass("1"),
            "produced_on": "2024-03-01"}
    junk = [{**good, "mass": value} for value in JUNK_MASSES]
    junk += [{**good, "place": value} for value in JUNK_TEXTS]
    junk += [{**good, "site_id": value} for value in [*JUNK_UUIDS, None, NIL]]
    junk += [{**good, "miner_id": value} for value in [*JUNK_UUIDS, NIL]]
    junk += [{**good, "produced_on": value} for value in [
        "2024-02-30", "", "yesterday", 20240301, "9999-99-99", "10000-01-01", "2024-03-01T00:00:00\x00", None,
        date.today().replace(year=date.today().year + 1).isoformat()]]
    junk += [{**good, "commodity": value} for value in ["unobtainium", "", "gold\x00", 5, None, ["gold"]]]
    junk += [{**good, "form": value} for value in ["gas", "", 5, None]]
    junk += [{**good, "chain_of_custody": value} for value in ["both", "", 5, None]]
    junk += [{**good, "mercury_free": value} for value in ["maybe", 2, [], {}]]
    junk += [{**good, "custodian_id": targets.site["id"]}, {**good, "commodity": "tin"}]
    return junk


def splits(targets: Targets) -> list[Any]:
    half = {"mass": mass("0.5")}
    junk: list[Any] = [{"parts": [half] * 10_000}, {"parts": [half] * 501}, {"parts": []}, {"parts": [half]},
                       {"parts": None}, {"parts": half}, {"parts": "0.5"}, {"parts": [{}, {}]},
                       {"parts": [half, half, half]}, {"parts": [half, {"mass": mass("0.4")}]},
                       {"parts": [half, half], "loss": mass("0.1")}, {"parts": [half, half], "extra": 1}]
    junk += [{"parts": [half, {"mass": value}]} for value in JUNK_MASSES]
    junk += [{"parts": [{"mass": mass("0.4")}, half], "loss": value} for value in JUNK_MASSES if value is not None]
    junk += [{"parts": [half, half], "place": value} for value in JUNK_TEXTS]
    return junk


def merges(targets: Targets) -> list[Any]:
    lot, other = targets.lot["id"], targets.other_lot["id"]
    junk: list[Any] = [{"lot_ids": []}, {"lot_ids": [lot]}, {"lot_ids": [lot, lot]}, {"lot_ids": None},
                       {"lot_ids": lot}, {"lot_ids": [str(uuid.uuid4()) for _ in range(10_000)]},
                       {"lot_ids": [lot, NIL]}, {"lot_ids": [NIL, lot]}, {"lot_ids": [lot, other], "form": "gas"},
                       {"lot_ids": [lot, other], "chain_of_custody": "both"}, {"lot_ids": [lot, other], "extra": 1}]
    junk += [{"lot_ids": [lot, value]} for value in JUNK_UUIDS]
    junk += [{"lot_ids": [lot, other], "place": value} for value in JUNK_TEXTS]
    return junk


def transforms(targets: Targets) -> list[Any]:
    good = {"output_form": "dore", "output_mass": mass("0.9"), "process": "smelting"}
    junk: list[Any] = [{**good, "output_mass": mass("2")}, {**good, "output_mass": mass("1.0000000000000001")}]
    junk += [{**good, "output_mass": value} for value in JUNK_MASSES]
    junk += [{**good, "process": value} for value in [*JUNK_TEXTS, None, "   ", "smelting\nrefining"]]
    junk += [{**good, "place": value} for value in JUNK_TEXTS]
    junk += [{**good, "output_form": value} for value in ["gas", "", None, 5]]
    return junk


def dispatches(targets: Targets) -> list[Any]:
    junk: list[Any] = [{"to_organization_id": value} for value in [*JUNK_UUIDS, None]]
    junk += [{"to_organization_id": targets.lot["custodian_id"]},  # to itself
             {"to_organization_id": targets.certification_body["id"]}]  # an organisation that holds no lots
    junk += [{"to_organization_id": str(uuid.uuid4()), "place": value} for value in JUNK_TEXTS]
    return junk


def receipts() -> list[Any]:
    junk: list[Any] = [{"received_mass": value} for value in JUNK_MASSES if value is not None]
    junk += [{"place": value} for value in JUNK_TEXTS] + [{"extra": 1}, [], "x"]
    return junk


def closings() -> list[Any]:
    return [{"note": value} for value in [*JUNK_TEXTS, None, "x" * 2_001]] + [{}, {"note": "ok", "extra": 1}]


def as_json(body: Any) -> bytes:
    """JSON as a careless client writes it: NaN and Infinity as bare words, lone surrogates escaped."""
    return json.dumps(body, allow_nan=True).encode()


async def send_all(traceability, path: str, headers: dict, bodies: list[Any]) -> None:
    for body in bodies:
        response = await traceability.post(path, content=as_json(body),
                                           headers={**headers, "Content-Type": "application/json"})
        problem_response(response, (path, str(body)[:120]))


async def test_near_misses_on_every_write_get_4xx_problems_and_change_nothing(traceability, targets):
    lot_path = f"/v1/lots/{targets.lot['id']}"
    before = [(await traceability.get(path, headers=targets.manager)).json()
              for path in (lot_path, f"{lot_path}/events", f"/v1/lots/{targets.other_lot['id']}",
                           f"/v1/transfers/{targets.transfer['id']}")]

    await send_all(traceability, "/v1/lots", targets.manager, lot_creations(targets))
    await send_all(traceability, f"{lot_path}/split", targets.manager, splits(targets))
    await send_all(traceability, "/v1/merges", targets.manager, merges(targets))
    await send_all(traceability, f"{lot_path}/transform", targets.manager, transforms(targets))
    await send_all(traceability, f"{lot_path}/dispatch", targets.manager, dispatches(targets))
    await send_all(traceability, f"/v1/transfers/{targets.transfer['id']}/receive", targets.trader, receipts())
    await send_all(traceability, f"/v1/red-flags/{targets.flag['id']}/close", targets.admin, closings())

    after = [(await traceability.get(path, headers=targets.manager)).json()
             for path in (lot_path, f"{lot_path}/events", f"/v1/lots/{targets.other_lot['id']}",
                          f"/v1/transfers/{targets.transfer['id']}")]
    assert after == before
    open_flags = await traceability.get("/v1/red-flags", params={"lot_id": targets.flag["lot_id"]},
                                        headers=targets.admin)
    assert [flag["id"] for flag in open_flags.json()["items"]] == [targets.flag["id"]]
    site_lots = await traceability.get("/v1/lots", params={"limit": 500}, headers=targets.manager)
    assert len(site_lots.json()["items"]) == 4  # the fixture's own: no junk made a lot


# --- EPCIS capture -----------------------------------------------------------------------------------------------

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def epcis_document(*events: Any, **fields: Any) -> dict:
    return {"@context": [EPCIS_CONTEXT, {"minka": "https://minka.example/epcis/"}], "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": "2024-05-01T10:00:00.000Z",
            "epcisBody": {"eventList": list(events)}, **fields}


def object_event(**fields: Any) -> dict:
    return {"type": "ObjectEvent", "eventTime": "2024-05-01T08:00:00.000Z", "eventTimeZoneOffset": "+00:00",
            "eventID": f"urn:uuid:{uuid.uuid4()}", "action": "OBSERVE",
            "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"], **fields}


def transformation(inputs: Any, outputs: Any, **fields: Any) -> dict:
    return {"type": "TransformationEvent", "eventTime": "2024-05-01T08:00:00.000Z", "eventTimeZoneOffset": "+00:00",
            "inputQuantityList": [{"epcClass": "urn:x:in", "quantity": inputs, "uom": "KGM"}],
            "outputQuantityList": [{"epcClass": "urn:x:out", "quantity": outputs, "uom": "KGM"}], **fields}


NOT_JSON = [
    b"", b" ", b"\x00", b"\x00" * 1_000, b"<EPCISDocument/>", b"\xff\xfe\xfd", b"\xef\xbb\xbf", b"a=1&b=2",
    b"{" * 100_000, b"[" * 100_000, b'{"type": "EPCISDocument"' * 1_000, b"\xed\xa0\x80",
    b'{"type": "EPCISDocument", "x": ' + b"9" * 5_000 + b"}", b'{"type": "EPCISDocument", "x": NaN}',
]

BAD_DOCUMENTS = [
    "text", 12, None, [], [epcis_document(object_event())], {}, {"type": 5}, {"type": "EPCISDocument"},
    object_event(), epcis_document(object_event(), type="EPCISQueryDocument"),
    epcis_document(object_event(eventTime="0001-01-01T00:00:00+01:00")),
    epcis_document(object_event(eventTime="9999-12-31T23:59:59-01:00")),
    epcis_document(object_event(eventTime="2024-06-30T23:59:60Z")),
    epcis_document(object_event(eventTime="yesterday")),
    epcis_document(object_event(eventID="urn:uuid:" + "a" * 600)),
    epcis_document(object_event(eventID="urn:x:a\x00b")),
    epcis_document(object_event(epcList=["urn:x:" + "a" * 600])),
    epcis_document(object_event(epcList=["urn:x:a\x00b"])),
    epcis_document(object_event(epcList=5)),
    epcis_document(object_event(quantityList=[{"epcClass": "urn:x:" + "a" * 600, "quantity": 1, "uom": "KGM"}])),
    epcis_document(object_event(bizStep="x" * 100_000)),
    epcis_document(object_event(**{"minka:note": {"minka:a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}})),  # noqa: E501
    epcis_document(object_event(), object_event(), epcisBody={"eventList": "x"}),
    epcis_document(transformation(1, float("nan"))),
    epcis_document(transformation(1, float("inf"))),
    epcis_document(transformation("1", "2")),
    epcis_document(transformation(1, 10**4_000)),
    epcis_document(transformation(1, 2, **{"minka:declaredLossKg": "x"})),
    epcis_document(transformation(1, 1, **{"minka:declaredLossKg": -1})),
    epcis_document(transformation(1, 1, **{"minka:declaredLossKg": 1e308})),
    epcis_document(*[{"type": "AggregationEvent"}] * 3),
    epcis_document(object_event(type="ObjectEvent\x00")),
]

HUGE_NUMBERS = [
    ("1", "1e999999999", None), ("1e999999999", "1e999999998", "0"), ("1e-999999999", "2e-999999999", None),
    ("1", "1", "1e999999999"), ("1e999999999", "1", "1e-999999999"),
]
"""Quantities with exponents near the limits: the mass balance is refused without spelling out a billion zeros."""


async def test_what_capture_cannot_take_gets_a_4xx_problem(traceability, callers):
    for body in NOT_JSON:
        for headers in callers.all():
            response = await traceability.post("/v1/epcis/capture", content=body, headers=headers)
            problem_response(response, body[:40])
    for document in BAD_DOCUMENTS:
        response = await traceability.post("/v1/epcis/capture", content=as_json(document), headers=callers.buyer)
        problem_response(response, str(document)[-300:])


@pytest.mark.parametrize(("inputs", "outputs", "loss"), HUGE_NUMBERS)
async def test_huge_exponents_in_a_capture_get_a_short_problem(traceability, callers, inputs, outputs, loss):
    fields = {} if loss is None else {"minka:declaredLossKg": f"@{loss}@"}
    document = as_json(epcis_document(transformation(f"@{inputs}@", f"@{outputs}@", **fields)))
    raw = re.sub(rb'"@([^@]+)@"', rb"\1", document)  # numbers written as the literals, beyond any float
    response = await traceability.post("/v1/epcis/capture", content=raw, headers=callers.buyer)
    problem_response(response, raw[:200])
    assert len(response.content) < 10_000


async def test_a_capture_larger_than_20_mb_is_refused_before_it_is_read(traceability, callers):
    response = await traceability.post("/v1/epcis/capture", content=b" " * (20 * 1024 * 1024 + 1),
                                       headers=callers.buyer)
    problem_response(response)
    assert response.status_code == 413
