"""EPCIS 2.0 validation against GS1's own examples (all valid) and hand-made broken documents."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import simplejson

from minka_traceability.epcis.validation import load_validator, mass_kg, parse_document
from minka_traceability.epcis.vocabulary import (
    BIZ_STEPS,
    BUSINESS_TRANSACTION_TYPES,
    DISPOSITIONS,
    ERROR_REASONS,
    SOURCE_DESTINATION_TYPES,
)

SHARED = (Path(__file__).resolve().parents[3] / ".." / "shared" / "epcis").resolve()
EXAMPLES = sorted((SHARED / "examples").glob("*.jsonld"))
VALIDATOR = load_validator(SHARED / "EPCIS-JSON-Schema.json")

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
MINKA = "https://minka.example/epcis/"
TIME = {"eventTime": "2024-05-01T08:00:00.000Z", "eventTimeZoneOffset": "+00:00"}
SITE = "https://minka.example/sites/7"
FIRST_EVENT = "epcisBody.eventList[0]"


def lot(number: int) -> str:
    return f"https://minka.example/lots/{number}"


def quantity(amount: str, uom: str | None = "KGM", number: int = 1) -> dict[str, Any]:
    element: dict[str, Any] = {"epcClass": lot(number), "quantity": Decimal(amount)}
    if uom:
        element["uom"] = uom
    return element


def document(*events: dict[str, Any], context: list[Any] | None = None) -> dict[str, Any]:
    return {
        "@context": context if context is not None else [EPCIS_CONTEXT, {"minka": MINKA}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-01T09:00:00.000Z",
        "epcisBody": {"eventList": list(events)},
    }


def commissioning(**fields: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        **TIME,
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "readPoint": {"id": SITE},
        "quantityList": [quantity("12.5")],
        "ilmd": {"minka:origin": SITE, "cbvmda:countryOfOrigin": "BO"},
        **fields,
    }


def transformation(inputs: list[dict], outputs: list[dict], **fields: Any) -> dict[str, Any]:
    return {
        "type": "TransformationEvent",
        **TIME,
        "inputQuantityList": inputs,
        "outputQuantityList": outputs,
        "bizStep": "creating_class_instance",
        **fields,
    }


def errors_of(*events: dict[str, Any], context: list[Any] | None = None) -> list[tuple[str, str]]:
    return VALIDATOR.errors(document(*events, context=context))


def test_the_examples_are_all_there() -> None:
    assert len(EXAMPLES) == 45


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_every_gs1_example_is_valid(example: Path) -> None:
    assert VALIDATOR.errors(parse_document(example.read_bytes())) == []


def test_a_hand_built_document_with_exact_decimals_is_valid() -> None:
    three_troy_ounces = [quantity("3", "APZ")]
    loss = Decimal("0.0033104304")
    valid = document(
        commissioning(),
        transformation(three_troy_ounces, [quantity("0.09", number=2)], **{"minka:declaredLossKg": loss}),
        transformation([quantity("0.0933104304")], [quantity("0.09", number=2)], **{"minka:declaredLossKg": loss}),
    )
    assert VALIDATOR.errors(valid) == []
    assert VALIDATOR.errors(parse_document(simplejson.dumps(valid, use_decimal=True).encode())) == []


def test_a_uri_field_holding_a_non_uri_is_refused() -> None:
    errors = errors_of(commissioning(readPoint={"id": "not a uri"}))
    assert errors == [(f"{FIRST_EVENT}.readPoint.id", "'not a uri' is not a valid URI")]


def test_an_unknown_bare_business_step_is_refused() -> None:
    errors = errors_of(commissioning(bizStep="smelting"))
    assert errors == [(f"{FIRST_EVENT}.bizStep", "'smelting' is not a CBV 2.0 business step")]


@pytest.mark.parametrize(
    "biz_step",
    ["urn:epcglobal:cbv:bizstep:nonsense", "https://ref.gs1.org/cbv/BizStep-nonsense", "cbv:BizStep-nonsense"],
)
def test_an_unknown_term_in_a_cbv_namespace_is_refused(biz_step: str) -> None:
    errors = errors_of(commissioning(bizStep=biz_step))
    assert errors == [(f"{FIRST_EVENT}.bizStep", f"'{biz_step}' is not a CBV 2.0 business step")]


def test_a_term_of_another_cbv_vocabulary_is_not_a_business_step() -> None:
    errors = errors_of(commissioning(bizStep="https://ref.gs1.org/cbv/Disp-in_transit"))
    assert [path for path, _ in errors] == [f"{FIRST_EVENT}.bizStep"]


@pytest.mark.parametrize(
    "biz_step",
    [
        "shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping",
        "cbv:BizStep-shipping",
        "https://example.com/steps/smelting",
    ],
)
def test_cbv_terms_as_bare_words_or_web_iris_and_user_vocabularies_are_accepted(biz_step: str) -> None:
    assert errors_of(commissioning(bizStep=biz_step)) == []


@pytest.mark.parametrize("spelling", ["urn:epcglobal:cbv:bizstep:shipping", "https://ns.gs1.org/cbv/BizStep-shipping"])
def test_the_xml_urn_and_draft_spellings_of_a_cbv_term_are_refused_with_the_bare_word(spelling: str) -> None:
    """GS1's JSON schema refuses them (gs1/EPCIS#421); EPCIS 2.0 JSON writes standard terms as bare words."""
    [(path, reason)] = errors_of(commissioning(bizStep=spelling))
    assert path == f"{FIRST_EVENT}.bizStep"
    assert "'shipping'" in reason


def test_a_disposition_outside_cbv_is_refused() -> None:
    errors = errors_of(commissioning(disposition="melted"))
    assert errors == [(f"{FIRST_EVENT}.disposition", "'melted' is not a CBV 2.0 disposition")]


def test_every_cbv_coded_field_is_checked() -> None:
    event = commissioning(
        persistentDisposition={"set": ["completeness_verified", "shiny"]},
        sourceList=[{"type": "owning_party", "source": SITE}, {"type": "miner", "source": SITE}],
        destinationList=[{"type": "urn:epcglobal:cbv:sdt:location", "destination": SITE}],
        bizTransactionList=[{"type": "invoice", "bizTransaction": "https://minka.example/invoices/1"}],
        errorDeclaration={"declarationTime": "2024-05-02T08:00:00.000Z", "reason": "typo"},
    )
    assert [path for path, _ in errors_of(event)] == [
        f"{FIRST_EVENT}.bizTransactionList[0].type",
        f"{FIRST_EVENT}.destinationList[0].type",
        f"{FIRST_EVENT}.errorDeclaration.reason",
        f"{FIRST_EVENT}.persistentDisposition.set[1]",
        f"{FIRST_EVENT}.sourceList[1].type",
    ]


def test_an_unprefixed_extension_field_is_refused() -> None:
    errors = errors_of(commissioning(grade="high"))
    assert [path for path, _ in errors] == [f"{FIRST_EVENT}.grade"]
    assert "must be namespaced" in errors[0][1]


def test_an_extension_prefix_missing_from_the_context_is_refused() -> None:
    errors = errors_of(commissioning(**{"acme:grade": "high"}))
    assert errors == [(f"{FIRST_EVENT}.acme:grade", "prefix 'acme' is not declared in @context")]


def test_keys_inside_ilmd_and_extension_values_need_declared_prefixes_too() -> None:
    event = commissioning(
        ilmd={"minka:assay": {"minka:purity": Decimal("0.92"), "purity": 1}, "fineness": 916},
        **{"minka:outputs": [{"minka:lot": lot(2), "acme:form": "dore"}]},
    )
    assert [path for path, _ in errors_of(event)] == [
        f"{FIRST_EVENT}.ilmd.fineness",
        f"{FIRST_EVENT}.ilmd.minka:assay.purity",
        f"{FIRST_EVENT}.minka:outputs[0].acme:form",
    ]


def test_prefixes_may_come_from_the_event_context_the_standard_context_or_be_absolute_iris() -> None:
    event = commissioning(
        **{
            "@context": {"acme": "https://acme.example/"},
            "acme:grade": "high",
            "cbvmda:lotNumber": "L1",
            "https://other.example/ns#note": "absolute IRIs need no prefix",
        }
    )
    assert errors_of(event) == []


def test_outputs_heavier_than_inputs_are_refused() -> None:
    event = transformation([quantity("10")], [quantity("9.5", number=2), quantity("600", "GRM", number=3)])
    errors = errors_of(event)
    assert errors == [(f"{FIRST_EVENT}.outputQuantityList", "output mass 10.1 kg exceeds input mass 10 kg")]


def test_mass_balance_is_not_judged_when_a_quantity_is_not_a_mass() -> None:
    assert errors_of(transformation([quantity("10")], [quantity("12", uom=None, number=2)])) == []
    assert errors_of(transformation([quantity("10", "LTR")], [quantity("12", number=2)])) == []


def test_a_declared_loss_that_does_not_balance_is_refused() -> None:
    event = transformation(
        [quantity("10")], [quantity("9", number=2)], **{"minka:declaredLossKg": Decimal("0.9999999999")}
    )
    assert errors_of(event) == [
        (
            f"{FIRST_EVENT}.minka:declaredLossKg",
            "outputs 9 kg + declared loss 0.9999999999 kg = 9.9999999999 kg, but inputs are 10 kg",
        )
    ]


@pytest.mark.parametrize(
    ("loss", "reason"),
    [
        ("1", "must be a number of kilograms"),
        (Decimal("-1"), "must not be negative"),
    ],
)
def test_a_declared_loss_must_be_a_non_negative_number(loss: Any, reason: str) -> None:
    event = transformation([quantity("10")], [quantity("11", number=2)], **{"minka:declaredLossKg": loss})
    assert errors_of(event) == [(f"{FIRST_EVENT}.minka:declaredLossKg", reason)]


def test_a_declared_loss_needs_mass_quantities_to_be_checked() -> None:
    event = transformation(
        [quantity("10")], [quantity("9", uom=None, number=2)], **{"minka:declaredLossKg": Decimal("1")}
    )
    [(path, reason)] = errors_of(event)
    assert path == f"{FIRST_EVENT}.minka:declaredLossKg"
    assert "mass unit" in reason


def test_negative_quantities_are_refused() -> None:
    errors = errors_of(commissioning(quantityList=[quantity("12.5"), quantity("-1", number=2)]))
    assert errors == [(f"{FIRST_EVENT}.quantityList[1].quantity", "must not be negative")]


def test_all_problems_are_listed_each_at_its_path() -> None:
    errors = errors_of(
        commissioning(readPoint={"id": "mine 7"}),
        transformation([quantity("1")], [quantity("2", number=2)], bizStep="smelting"),
        commissioning(colour="yellow"),
    )
    assert [path for path, _ in errors] == [
        "epcisBody.eventList[0].readPoint.id",
        "epcisBody.eventList[1].bizStep",
        "epcisBody.eventList[1].outputQuantityList",
        "epcisBody.eventList[2].colour",
    ]


def test_schema_rules_are_reported_readably() -> None:
    no_what = commissioning(action="OBSERVE")
    del no_what["quantityList"]
    errors = errors_of(no_what, context=[EPCIS_CONTEXT, {"minka": MINKA}])
    assert (FIRST_EVENT, "needs epcList, or quantityList, or sensorElementList") in errors
    assert any(path == FIRST_EVENT and "ilmd: must be absent" in reason for path, reason in errors)
    missing = commissioning()
    del missing["eventTime"]
    assert errors_of(missing) == [(f"{FIRST_EVENT}.eventTime", "required field is missing")]
    extra = commissioning(quantityList=[{**quantity("1"), "grade": "A"}])
    assert (f"{FIRST_EVENT}.quantityList[0].grade", "not a field EPCIS 2.0 allows here") in errors_of(extra)


@pytest.mark.parametrize("not_a_document", [{}, [], "EPCISDocument", None, Decimal(1), {"type": 5}])
def test_something_that_is_not_an_epcis_document_gets_errors_not_exceptions(not_a_document: Any) -> None:
    errors = VALIDATOR.errors(not_a_document)
    assert len(errors) == 1
    assert errors[0][0] in ("$", "type")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d["epcisBody"].update(eventList={"0": {}}),
        lambda d: d["epcisBody"]["eventList"].append("event"),
        lambda d: d["epcisBody"]["eventList"][0].update(quantityList="12 kg"),
        lambda d: d["epcisBody"]["eventList"][0].update(
            quantityList=[{"epcClass": lot(1), "quantity": "1", "uom": []}]
        ),
        lambda d: d["epcisBody"]["eventList"][0].update(persistentDisposition=["active"], sourceList=[5]),
        lambda d: d["epcisBody"]["eventList"][1].update(inputQuantityList=[None], outputQuantityList={}),
        lambda d: d["epcisBody"]["eventList"][1].update(**{"minka:declaredLossKg": Decimal("NaN")}),
        lambda d: d.update({"@context": 5, "epcisHeader": []}),
        lambda d: d.update(epcisBody=[]),
    ],
)
def test_malformed_documents_give_errors_not_exceptions(mangle: Any) -> None:
    malformed = document(commissioning(), transformation([quantity("1")], [quantity("1", number=2)]))
    mangle(malformed)
    assert VALIDATOR.errors(malformed) != []


def test_absurdly_deep_nesting_is_refused_without_recursing() -> None:
    deep: Any = "bottom"
    for _ in range(5000):
        deep = {"minka:x": deep}
    assert VALIDATOR.errors(document(commissioning(**{"minka:deep": deep}))) == [("$", "nested deeper than 64 levels")]


def test_parse_document_keeps_numbers_exact() -> None:
    parsed = parse_document(b'{"quantity": 0.0933104304, "count": 3}')
    assert parsed == {"quantity": Decimal("0.0933104304"), "count": 3}
    assert isinstance(parsed["quantity"], Decimal)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"type": "EPCISDocument",', "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"quantity": NaN}', "not valid JSON"),
        (b'{"name": "caf\xe9"}', "not UTF-8"),
        (b"[" * 100_000, "not valid JSON"),
    ],
)
def test_parse_document_refuses_what_is_not_utf8_json(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_document(raw)


@pytest.mark.parametrize(
    ("element", "kilograms"),
    [
        (quantity("12.5"), Decimal("12.5")),
        (quantity("3", "APZ"), Decimal("0.0933104304")),
        (quantity("250", "GRM"), Decimal("0.25")),
        (quantity("2", "LBR"), Decimal("0.90718474")),
        (quantity("1.5", "TNE"), Decimal("1500")),
        ({"epcClass": lot(1), "quantity": 2, "uom": "ONZ"}, Decimal("0.05669904625")),
        ({"epcClass": lot(1), "quantity": 0.1, "uom": "KGM"}, Decimal("0.1")),
        (quantity("12"), Decimal("12")),
        (quantity("12", uom=None), None),
        (quantity("12", "LTR"), None),
        ({"epcClass": lot(1), "uom": "KGM"}, None),
    ],
)
def test_mass_kg_converts_mass_units_exactly(element: dict, kilograms: Decimal | None) -> None:
    assert mass_kg(element) == kilograms


def test_the_cbv_vocabularies_match_the_gs1_schema_and_context() -> None:
    definitions = json.loads((SHARED / "EPCIS-JSON-Schema.json").read_text())["definitions"]
    context = json.loads((SHARED / "epcis-context.jsonld").read_text())["@context"]

    def schema_terms(name: str) -> set[str]:
        return {term for branch in definitions[name]["anyOf"] for term in branch.get("enum", [])}

    assert schema_terms("bizStep") == BIZ_STEPS == set(context["bizStep"]["@context"])
    assert schema_terms("disposition") == DISPOSITIONS == set(context["disposition"]["@context"])
    assert schema_terms("source-dest-type") == SOURCE_DESTINATION_TYPES
    assert schema_terms("bizTransaction-type") == BUSINESS_TRANSACTION_TYPES
    assert schema_terms("error-reason") == ERROR_REASONS
