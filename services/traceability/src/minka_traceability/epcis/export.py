"""A lot's history as an EPCIS 2.0 JSON-LD document, in CBV 2.0 vocabulary only.

- creation at origin: ObjectEvent ADD, ``commissioning``, the lot's attributes and claims as ILMD;
- dispatch and receipt: ObjectEvent OBSERVE, ``shipping`` / ``receiving``, with owning and
  possessing party as source and destination;
- split, merge and transform: TransformationEvent, ``creating_class_instance``, input and output
  quantities in KGM and the declared loss as ``minka:declaredLossKg``, so the mass balance can be
  checked from the document alone.

Lots are classes (``epcClass``) identified by ``{epc_base_uri}/lots/{id}``; quantities are exact
decimals, written as JSON numbers by simplejson.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import simplejson

from minka_common.mass import format_kg
from minka_traceability.graph import Graph
from minka_traceability.lots.models import CustodyEvent, EventKind, EventLot, Lot, LotRole

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
MINKA_NAMESPACE = "https://minka.example/epcis/"
KILOGRAM = "KGM"


class Identifiers:
    def __init__(self, base_uri: str) -> None:
        self.base = base_uri.rstrip("/")

    def lot(self, lot_id: uuid.UUID) -> str:
        return f"{self.base}/lots/{lot_id}"

    def party(self, organization_id: uuid.UUID | str) -> str:
        return f"{self.base}/organizations/{organization_id}"

    def site(self, site_id: uuid.UUID | str) -> str:
        return f"{self.base}/sites/{site_id}"


def _kg(value: Decimal) -> Decimal:
    """Without trailing zeros or exponent, so the number reads as it does in the API."""
    return Decimal(format_kg(value))


def _time(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _quantities(ids: Identifiers, parts: list[EventLot], role: LotRole) -> list[dict[str, Any]]:
    return [{"epcClass": ids.lot(part.lot_id), "quantity": _kg(part.mass_kg), "uom": KILOGRAM}
            for part in parts if part.role == role.value]


def _claims(lot: Lot) -> dict[str, Any]:
    return {
        "minka:certifiedMassKg": _kg(lot.certified_mass_kg),
        "minka:tier": lot.tier,
        "minka:standards": [f"{ref['code']} {ref['version']}" for ref in lot.standards],
        "minka:forestSmart": lot.forest_smart,
        "minka:mercuryFree": lot.mercury_free,
    }


def _origin_ilmd(lot: Lot) -> dict[str, Any]:
    ilmd = {
        "minka:commodity": lot.commodity,
        "minka:form": lot.form,
        "minka:chainOfCustody": lot.chain_of_custody,
        "minka:lotCode": lot.code,
        "minka:producedOn": lot.produced_on.isoformat() if lot.produced_on else None,
        "minka:certificateNumber": lot.certificate_number,
        **_claims(lot),
    }
    if lot.origin_country:
        ilmd["cbvmda:countryOfOrigin"] = lot.origin_country
    return ilmd


def _base(event: CustodyEvent, ids: Identifiers, kind: str) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": kind,
        "eventTime": _time(event.at),
        "eventTimeZoneOffset": "+00:00",
        "eventID": f"urn:uuid:{event.id}",
    }
    if event.organization_id is not None:
        document["readPoint"] = {"id": ids.party(event.organization_id)}
    if event.place:
        document["minka:place"] = event.place
    return document


def _handover(details: dict[str, Any], ids: Identifiers) -> dict[str, Any]:
    sender, receiver = details["from_organization_id"], details["to_organization_id"]
    return {
        "sourceList": [{"type": "owning_party", "source": ids.party(sender)},
                       {"type": "possessing_party", "source": ids.party(sender)}],
        "destinationList": [{"type": "owning_party", "destination": ids.party(receiver)},
                            {"type": "possessing_party", "destination": ids.party(receiver)}],
    }


def epcis_event(event: CustodyEvent, parts: list[EventLot], lots: dict[uuid.UUID, Lot], ids: Identifiers) -> dict:
    kind = EventKind(event.kind)
    if kind == EventKind.create:
        [output] = [part for part in parts if part.role == LotRole.output.value]
        site = ids.site(event.details["site_id"])
        return {**_base(event, ids, "ObjectEvent"), "readPoint": {"id": site}, "bizLocation": {"id": site},
                "action": "ADD", "bizStep": "commissioning", "disposition": "active",
                "quantityList": _quantities(ids, parts, LotRole.output), "ilmd": _origin_ilmd(lots[output.lot_id])}
    if kind in (EventKind.dispatch, EventKind.receive):
        shipping = kind == EventKind.dispatch
        document = {**_base(event, ids, "ObjectEvent"), "action": "OBSERVE",
                    "bizStep": "shipping" if shipping else "receiving",
                    "disposition": "in_transit" if shipping else "in_progress",
                    "quantityList": _quantities(ids, parts, LotRole.subject), **_handover(event.details, ids)}
        if not shipping:
            document["minka:dispatchedKg"] = _kg(event.loss_kg + parts[0].mass_kg)
        return document
    outputs = [lots[part.lot_id] for part in parts if part.role == LotRole.output.value and part.lot_id in lots]
    document = {**_base(event, ids, "TransformationEvent"),
                "inputQuantityList": _quantities(ids, parts, LotRole.input),
                "outputQuantityList": _quantities(ids, parts, LotRole.output),
                "bizStep": "creating_class_instance", "disposition": "active",
                "minka:operation": kind.value, "minka:declaredLossKg": _kg(event.loss_kg)}
    if "process" in event.details:
        document["minka:process"] = event.details["process"]
    if outputs:
        document["ilmd"] = {"minka:outputs": [{"minka:lot": ids.lot(lot.id), "minka:form": lot.form,
                                               "minka:chainOfCustody": lot.chain_of_custody, **_claims(lot)}
                                              for lot in outputs]}
    return document


def lot_document(graph: Graph, ids: Identifiers, created: datetime) -> dict[str, Any]:
    """The EPCISDocument of the events that made and moved a lot and everything upstream of it."""
    lots = {lot.id: lot for lot in graph.lots}
    return {
        "@context": [EPCIS_CONTEXT, {"minka": MINKA_NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(created),
        "epcisBody": {"eventList": [epcis_event(event, graph.parts_of(event.id), lots, ids) for event in graph.events]},
    }


def dumps(document: Any) -> bytes:
    return simplejson.dumps(document, use_decimal=True, ensure_ascii=False).encode()

