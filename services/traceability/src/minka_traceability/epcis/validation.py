"""Strict validation of EPCIS 2.0 JSON/JSON-LD documents: GS1's JSON schema plus the checks it leaves out.

GS1's schema alone accepts any bare word as a bizStep or disposition and does not
know which extension prefixes a document declares. On top of it this module checks

- CBV terms: a bare word must be a CBV 2.0 term, and so must anything written in
  the CBV namespace; any other absolute URI is a user vocabulary, which EPCIS allows;
- extension fields: every key EPCIS does not define must be a compact IRI whose
  prefix the document's ``@context`` (or the standard EPCIS context) declares;
- quantities: none negative;
- mass balance of TransformationEvents whose quantities are all masses: outputs
  never exceed inputs, and with ``minka:declaredLossKg`` outputs plus loss equal
  inputs exactly.

Every problem is reported, as ``(path, reason)`` with a path such as
``epcisBody.eventList[3].bizStep`` (``$`` for the document itself).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow
from functools import reduce
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import simplejson
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from minka_traceability.epcis.vocabulary import (
    BIZ_STEP,
    BUSINESS_TRANSACTION_TYPE,
    CBV_DRAFT_NAMESPACES,
    CBV_NAMESPACE,
    CBV_URN_NAMESPACE,
    DISPOSITION,
    ERROR_REASON,
    MASS_UNITS_KG,
    SOURCE_DESTINATION_TYPE,
    STANDARD_CONTEXT_PREFIXES,
    CbvVocabulary,
)

DECLARED_LOSS_FIELD = "minka:declaredLossKg"
"""Minka's extension on a TransformationEvent: the kilograms lost (dust, slag, moisture) between inputs and outputs."""

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted; real EPCIS documents stay far below it."""

EXACT_DIGITS = 60
_EXACT = Context(
    prec=EXACT_DIGITS, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact, InvalidOperation, Overflow, DivisionByZero]
)
"""Arithmetic on kilograms that raises ``decimal.Inexact`` rather than round."""

EVENT_TYPES = frozenset(
    {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"}
)
_EXTENDED_EVENT = "Extended-Event"
_DOCUMENT_KINDS = {"EPCISDocument": "epcisDocument", "EPCISQueryDocument": "epcisQueryDocument"}
_NESTED_KINDS = {
    "epcisHeader": "epcisHeader",
    "ilmd": "ilmd",
    "errorDeclaration": "errorDeclaration",
    "readPoint": "readPoint",
    "bizLocation": "bizLocation",
    "sensorElementList": "sensorElement",
    "sensorMetadata": "sensorMetadata",
    "sensorReport": "sensorReport",
}
"""Defined fields whose value is an object (or list of objects) with fields of its own, by the schema's name for it."""
_KINDS = (*EVENT_TYPES, _EXTENDED_EVENT, *_DOCUMENT_KINDS.values(), *_NESTED_KINDS.values())
_JSONLD_ALIASES = frozenset({"id", "type"})
"""Keys the standard EPCIS context aliases to ``@id`` and ``@type``, valid inside extension objects too."""
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
_PLAIN_KEY = re.compile(r"[A-Za-z_@][\w@:\-]*")
_LITERAL_PATTERN = re.compile(r"\^(\w+)\$")

JsonPath = tuple[str | int, ...]
Finding = tuple[JsonPath, str]


class EpcisValidator:
    """GS1's EPCIS 2.0 JSON schema, compiled once, with Minka's stricter checks on top."""

    def __init__(self, schema: dict) -> None:
        Draft7Validator.check_schema(schema)
        self._schema = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
        self._fields = _defined_fields(schema)

    def errors(self, document: Any) -> list[tuple[str, str]]:
        """Every problem in the document as (JSON path like 'epcisBody.eventList[3].bizStep', reason); [] when valid."""
        unusable = _unusable(document)
        if unusable:
            return [unusable]
        specific = list(_epcis_findings(document, self._fields))
        claimed = {path for path, _ in specific}
        generic = [
            finding for finding in _schema_findings(self._schema, document, specific) if finding[0] not in claimed
        ]
        return [(format_path(path), reason) for path, reason in _in_document_order(generic + specific)]


def _unusable(document: Any) -> tuple[str, str] | None:
    """Why the document cannot be checked field by field at all, since without a type the schema's rules all apply."""
    if not isinstance(document, dict):
        return "$", f"must be a JSON object (an EPCISDocument), not {_json_type(document)}"
    if not isinstance(document.get("type"), str):
        reason = "must be a string" if "type" in document else "required field is missing"
        return "type", f"{reason}: EPCISDocument, EPCISQueryDocument or an event type"
    if _nesting_depth(document) > MAX_DEPTH:
        return "$", f"nested deeper than {MAX_DEPTH} levels"
    return None


def load_validator(schema_path: Path) -> EpcisValidator:
    return EpcisValidator(json.loads(Path(schema_path).read_text(encoding="utf-8")))


def parse_document(raw: bytes) -> Any:
    """The JSON document in ``raw``, numbers as exact ``Decimal``; ValueError when it is not UTF-8 JSON."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8: invalid byte at offset {error.start}") from None
    try:
        return simplejson.loads(text, use_decimal=True)
    except simplejson.JSONDecodeError as error:
        raise ValueError(f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise ValueError("not valid JSON: nested too deeply") from None


def mass_kg(quantity_element: dict) -> Decimal | None:
    """Exact kilograms of a quantityList element whose uom is a mass unit; None for counts and other units.

    A float (from a document built in code) is taken as its shortest decimal
    spelling, the number its writer meant. Raises ``decimal.Inexact`` if the
    product needs more than ``EXACT_DIGITS`` significant digits.
    """
    if not isinstance(quantity_element, dict):
        return None
    uom = quantity_element.get("uom")
    factor = MASS_UNITS_KG.get(uom) if isinstance(uom, str) else None
    quantity = _as_decimal(quantity_element.get("quantity"))
    if factor is None or quantity is None:
        return None
    return _EXACT.multiply(quantity, factor)


def format_path(path: JsonPath) -> str:
    """``("epcisBody", "eventList", 3, "bizStep")`` → ``epcisBody.eventList[3].bizStep``; ``$`` for the root."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text or "$"


def _nesting_depth(value: Any) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        current, depth = pending.pop()
        children = current.values() if isinstance(current, dict) else current if isinstance(current, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            pending.extend((child, depth + 1) for child in children)
    return deepest


def _defined_fields(schema: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """The fields EPCIS defines for each kind of object, read from the schema's ``properties`` and ``propertyNames``."""
    definitions = schema.get("definitions", {})
    return {kind: frozenset(_field_names(definitions, definitions.get(kind, {}))) for kind in _KINDS}


def _field_names(definitions: Mapping[str, Any], node: Any) -> set[str]:
    names: set[str] = set()
    for part in _subschemas(definitions, node, ("allOf", "anyOf")):
        names.update(part.get("properties", {}))
        names.update(_enum_strings(definitions, part.get("propertyNames")))
    return names


def _enum_strings(definitions: Mapping[str, Any], node: Any) -> set[str]:
    return {
        value
        for part in _subschemas(definitions, node, ("allOf", "anyOf", "oneOf"))
        for value in part.get("enum", ())
        if isinstance(value, str)
    }


def _subschemas(definitions: Mapping[str, Any], node: Any, combinators: tuple[str, ...]) -> Iterator[dict]:
    """The node and every schema reachable from it through ``$ref`` and the given combinators."""
    seen: set[int] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if not isinstance(current, dict) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current.get("$ref"), str):
            pending.append(_resolve(definitions, current["$ref"]))
        for combinator in combinators:
            pending.extend(current.get(combinator, ()))


def _resolve(definitions: Mapping[str, Any], ref: str) -> Any:
    prefix = "#/definitions/"
    return definitions.get(unquote(ref[len(prefix) :])) if ref.startswith(prefix) else None


def _in_document_order(findings: Iterable[Finding]) -> list[Finding]:
    """Without duplicates, grouped by event, in a stable order: list indexes numerically, keys alphabetically."""
    unique = list(dict.fromkeys(findings))
    return sorted(unique, key=lambda finding: tuple((isinstance(p, int), p) for p in finding[0]))


# --- JSON schema -------------------------------------------------------------------------------------------------


def _schema_findings(validator: Draft7Validator, document: Any, specific: list[Finding]) -> list[Finding]:
    """Schema errors, less the anyOf/oneOf summaries whose cause is already reported at a more precise path."""
    errors = list(validator.iter_errors(document))
    precise = [finding for error in errors if not _is_alternatives(error) for finding in _describe(error)]
    reported = set(precise) | set(specific)
    claimed = {path for path, _ in specific}

    def covered(finding: Finding) -> bool:
        return finding in reported or finding[0] in claimed

    summaries = [
        finding
        for error in errors
        if _is_alternatives(error) and not _explained(error, covered)
        for finding in _describe(error)
    ]
    return precise + summaries


def _is_alternatives(error: ValidationError) -> bool:
    return error.validator in ("anyOf", "oneOf") and "propertyNames" not in error.absolute_schema_path


def _explained(error: ValidationError, covered: Callable[[Finding], bool]) -> bool:
    """Whether the error follows from reported findings: for an anyOf, one allowed form fails only through them."""
    if _is_alternatives(error):
        return any(all(_explained(sub, covered) for sub in subs) for subs in _branches(error).values())
    return all(covered(finding) for finding in _describe(error))


def _branches(error: ValidationError) -> dict[Any, list[ValidationError]]:
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    return branches


def _describe(error: ValidationError) -> Iterator[Finding]:
    """The error at the most precise path: a key refused by ``propertyNames`` or missing, rather than its object."""
    path = tuple(error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        yield path + (error.instance,), "not a field EPCIS 2.0 defines here, nor a namespaced extension (prefix:name)"
    elif error.validator == "required":
        for name in _missing(error):
            yield path + (name,), "required field is missing"
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        for key in error.instance:
            if key not in allowed:
                yield path + (key,), "not a field EPCIS 2.0 allows here"
    else:
        yield path, _reason(error)


def _missing(error: ValidationError) -> list[str]:
    present = error.instance if isinstance(error.instance, dict) else {}
    return [name for name in error.validator_value if name not in present]


def _reason(error: ValidationError) -> str:
    validator, expected, value = error.validator, error.validator_value, error.instance
    if validator in ("anyOf", "oneOf"):
        return _alternatives(error)
    if validator == "type":
        expected_types = expected if isinstance(expected, list) else [expected]
        return f"must be of type {' or '.join(expected_types)}, not {_json_type(value)}"
    if validator == "format":
        return f"{_quoted(value)} is not a valid {expected.upper() if expected == 'uri' else expected}"
    if validator == "enum":
        return f"must be one of: {', '.join(str(option) for option in expected)}"
    if validator == "pattern":
        literal = _LITERAL_PATTERN.fullmatch(expected)
        return f"must be '{literal.group(1)}'" if literal else f"{_quoted(value)} does not match {expected}"
    if validator == "not":
        return "must be absent" if expected == {} else "not allowed here"
    if validator == "minItems":
        return f"needs at least {expected} item{'s' if expected != 1 else ''}"
    if validator == "uniqueItems":
        return "items must be unique"
    return error.message if len(error.message) <= 300 else error.message[:297] + "..."


def _alternatives(error: ValidationError) -> str:
    """One reason for an anyOf/oneOf: what each allowed form lacks, e.g. 'needs epcList, or quantityList'."""
    branches = _branches(error)
    if error.validator == "oneOf" and not branches:
        return "matches more than one of the allowed forms"
    if all(sub.validator == "required" for subs in branches.values() for sub in subs):
        needs = [
            " and ".join(dict.fromkeys(name for sub in subs for name in _missing(sub))) for subs in branches.values()
        ]
        return "needs " + ", or ".join(needs)
    forms = ["; ".join(_branch_reason(error, sub) for sub in subs) for subs in branches.values()]
    return "matches none of the allowed forms: " + " | ".join(forms)


def _branch_reason(parent: ValidationError, sub: ValidationError) -> str:
    if sub.validator == "required":
        return "needs " + " and ".join(_missing(sub))
    if _is_alternatives(sub):
        return _relative(tuple(sub.absolute_path)[len(parent.absolute_path) :], f"({_alternatives(sub)})")
    return "; ".join(_relative(path[len(parent.absolute_path) :], reason) for path, reason in _describe(sub))


def _relative(path: JsonPath, reason: str) -> str:
    return f"{format_path(path)}: {reason}" if path else reason


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(type(value), type(value).__name__)


def _quoted(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return f"'{text}'" if len(text) <= 80 else f"'{text[:77]}...'"


# --- EPCIS checks beyond the schema ------------------------------------------------------------------------------


def _epcis_findings(document: Any, fields: Mapping[str, frozenset[str]]) -> Iterator[Finding]:
    if not isinstance(document, dict):
        return
    prefixes = set(STANDARD_CONTEXT_PREFIXES) | declared_prefixes(document.get("@context"))
    kind = _DOCUMENT_KINDS.get(document.get("type"))
    if kind:
        yield from _extension_findings(document, kind, (), prefixes, fields)
    for path, event in _events(document):
        event_prefixes = prefixes | declared_prefixes(event.get("@context"))
        event_kind = event.get("type") if event.get("type") in EVENT_TYPES else _EXTENDED_EVENT
        yield from _extension_findings(event, event_kind, path, event_prefixes, fields)
        yield from _vocabulary_findings(event, path)
        yield from _quantity_findings(event, path)
        yield from _mass_balance_findings(event, path)


def _events(document: dict) -> Iterator[tuple[JsonPath, dict]]:
    """Events of an EPCISDocument or EPCISQueryDocument, or the document itself when it is a single event."""
    kind = document.get("type")
    if kind == "EPCISDocument":
        path: JsonPath = ("epcisBody", "eventList")
    elif kind == "EPCISQueryDocument":
        path = ("epcisBody", "queryResults", "resultsBody", "eventList")
    elif "type" in document:
        yield (), document
        return
    else:
        return
    events: Any = document
    for key in path:
        events = events.get(key) if isinstance(events, dict) else None
    for index, event in enumerate(_as_list(events)):
        if isinstance(event, dict):
            yield path + (index,), event


def declared_prefixes(context: Any) -> set[str]:
    """Terms a JSON-LD ``@context`` (string, object or list of both) defines that can serve as prefixes."""
    prefixes: set[str] = set()
    for entry in context if isinstance(context, list) else [context]:
        if not isinstance(entry, dict):
            continue
        for term, definition in entry.items():
            if not isinstance(term, str) or term.startswith("@") or ":" in term:
                continue
            if isinstance(definition, str) or (isinstance(definition, dict) and isinstance(definition.get("@id"), str)):
                prefixes.add(term)
    return prefixes


def _extension_findings(
    obj: dict, kind: str, path: JsonPath, prefixes: set[str], fields: Mapping[str, frozenset[str]]
) -> Iterator[Finding]:
    defined = fields.get(kind, frozenset())
    for key, value in obj.items():
        if not isinstance(key, str) or key.startswith("@"):
            continue
        if key in defined:
            child_kind = _NESTED_KINDS.get(key)
            if child_kind:
                for child_path, child in _objects(value, path + (key,)):
                    yield from _extension_findings(child, child_kind, child_path, prefixes, fields)
            continue
        yield from _extension_key_findings(key, path + (key,), prefixes)
        yield from _extension_value_findings(value, path + (key,), prefixes)


def _extension_value_findings(value: Any, path: JsonPath, prefixes: set[str]) -> Iterator[Finding]:
    """Keys inside an extension field's value are JSON-LD properties too, so they need namespaces as well."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _extension_value_findings(item, path + (index,), prefixes)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("@") or key in _JSONLD_ALIASES:
                continue
            yield from _extension_key_findings(key, path + (key,), prefixes)
            yield from _extension_value_findings(item, path + (key,), prefixes)


def _extension_key_findings(key: str, path: JsonPath, prefixes: set[str]) -> Iterator[Finding]:
    problem = _extension_key_problem(key, prefixes)
    if problem:
        yield path, problem


def _extension_key_problem(key: str, prefixes: set[str]) -> str | None:
    """Why ``key`` cannot name an extension field, or None when it is a declared compact IRI or an absolute IRI."""
    prefix, colon, rest = key.partition(":")
    if not colon or not prefix:
        return "extension field must be namespaced, e.g. example:foo, with example declared in @context"
    if prefix in prefixes or rest.startswith("//") or prefix == "urn":
        return None
    return f"prefix '{prefix}' is not declared in @context"


def _vocabulary_findings(event: dict, path: JsonPath) -> Iterator[Finding]:
    yield from _term_findings(event.get("bizStep"), BIZ_STEP, path + ("bizStep",))
    yield from _term_findings(event.get("disposition"), DISPOSITION, path + ("disposition",))
    persistent = event.get("persistentDisposition")
    for part in ("set", "unset"):
        values = persistent.get(part) if isinstance(persistent, dict) else None
        for index, value in enumerate(_as_list(values)):
            yield from _term_findings(value, DISPOSITION, path + ("persistentDisposition", part, index))
    for list_name, vocabulary in (
        ("sourceList", SOURCE_DESTINATION_TYPE),
        ("destinationList", SOURCE_DESTINATION_TYPE),
        ("bizTransactionList", BUSINESS_TRANSACTION_TYPE),
    ):
        for index, item in enumerate(_as_list(event.get(list_name))):
            if isinstance(item, dict):
                yield from _term_findings(item.get("type"), vocabulary, path + (list_name, index, "type"))
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, dict):
        yield from _term_findings(declaration.get("reason"), ERROR_REASON, path + ("errorDeclaration", "reason"))


def _term_findings(value: Any, vocabulary: CbvVocabulary, path: JsonPath) -> Iterator[Finding]:
    problem = cbv_term_problem(value, vocabulary) if isinstance(value, str) else None
    if problem:
        yield path, problem


def cbv_term_problem(value: str, vocabulary: CbvVocabulary) -> str | None:
    """Why ``value`` is not acceptable where ``vocabulary`` applies, or None.

    Accepted: a CBV 2.0 bare word, a CBV term written as its web IRI
    (``https://ref.gs1.org/cbv/BizStep-shipping`` or ``cbv:BizStep-shipping``),
    and any other absolute URI (a user vocabulary). The URN and draft-namespace
    spellings are refused, as GS1's JSON schema refuses them, but with a hint.
    """
    not_a_term = f"'{value}' is not a CBV 2.0 {vocabulary.label}"
    if ":" not in value:
        return None if value in vocabulary.terms else not_a_term
    legacy = _legacy_spelling(value, vocabulary)
    if legacy is not None:
        word, form = legacy
        if word in vocabulary.terms:
            return f"the {form} form is not used in EPCIS 2.0 JSON: write the bare word '{word}'"
        return not_a_term
    if value.startswith(CBV_URN_NAMESPACE) or value.startswith(CBV_DRAFT_NAMESPACES):
        return not_a_term
    for namespace in (CBV_NAMESPACE, CBV_NAMESPACE.replace("https:", "http:"), "cbv:"):
        if value.startswith(namespace):
            name = value[len(namespace) :]
            word = name.removeprefix(vocabulary.web_prefix)
            return None if word != name and word in vocabulary.terms else not_a_term
    return None


def _legacy_spelling(value: str, vocabulary: CbvVocabulary) -> tuple[str, str] | None:
    if value.startswith(vocabulary.urn_prefix):
        return value[len(vocabulary.urn_prefix) :], "CBV URN"
    for namespace in CBV_DRAFT_NAMESPACES:
        if value.startswith(namespace + vocabulary.web_prefix):
            return value[len(namespace + vocabulary.web_prefix) :], "draft namespace"
    return None


def _quantity_findings(event: dict, path: JsonPath) -> Iterator[Finding]:
    for list_name in _QUANTITY_LISTS:
        for index, element in enumerate(_as_list(event.get(list_name))):
            quantity = element.get("quantity") if isinstance(element, dict) else None
            if not _is_number(quantity):
                continue
            if isinstance(quantity, float | Decimal) and not _is_finite(quantity):
                yield path + (list_name, index, "quantity"), "must be a finite number"
            elif quantity < 0:
                yield path + (list_name, index, "quantity"), "must not be negative"


def _mass_balance_findings(event: dict, path: JsonPath) -> Iterator[Finding]:
    if event.get("type") != "TransformationEvent":
        return
    try:
        inputs = total_kg(_as_list(event.get("inputQuantityList")))
        outputs = total_kg(_as_list(event.get("outputQuantityList")))
        if DECLARED_LOSS_FIELD in event:
            yield from _declared_loss_findings(event[DECLARED_LOSS_FIELD], inputs, outputs, path)
        elif inputs is not None and outputs is not None and outputs > inputs:
            yield path + ("outputQuantityList",), f"output mass {_kg(outputs)} exceeds input mass {_kg(inputs)}"
    except ArithmeticError:
        yield path, f"quantities need more than {EXACT_DIGITS} digits in kilograms; the mass balance cannot be checked"


def _declared_loss_findings(
    loss: Any, inputs: Decimal | None, outputs: Decimal | None, event_path: JsonPath
) -> Iterator[Finding]:
    path = event_path + (DECLARED_LOSS_FIELD,)
    declared = _as_decimal(loss)
    if declared is None:
        yield path, "must be a number of kilograms"
    elif declared < 0:
        yield path, "must not be negative"
    elif inputs is None or outputs is None:
        yield path, "can only be checked when every input and output quantity is in a mass unit"
    elif (total := _EXACT.add(outputs, declared)) != inputs:
        yield (
            path,
            f"outputs {_kg(outputs)} + declared loss {_kg(declared)} = {_kg(total)}, but inputs are {_kg(inputs)}",
        )


def total_kg(elements: list) -> Decimal | None:
    """Exact total in kilograms of quantity elements, or None unless there are some and all are in mass units."""
    masses = [mass_kg(element) for element in elements]
    if not masses or any(mass is None for mass in masses):
        return None
    return reduce(_EXACT.add, masses, Decimal(0))


def _kg(value: Decimal) -> str:
    """Positional notation, except for an exponent so large that spelling out its zeros would take gigabytes."""
    normal = value.normalize(_EXACT)
    return f"{format(normal, 'f' if abs(normal.adjusted()) <= EXACT_DIGITS else 'E')} kg"


def _as_decimal(value: Any) -> Decimal | None:
    if not _is_number(value):
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return number if number.is_finite() else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _is_finite(value: float | Decimal) -> bool:
    return math.isfinite(value) if isinstance(value, float) else value.is_finite()


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _objects(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, dict]]:
    if isinstance(value, dict):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield path + (index,), item
