"""The GS1 Core Business Vocabulary (CBV 2.0) terms EPCIS 2.0 events use, and the mass units Minka converts.

The term lists are those of the EPCIS 2.0 JSON schema and JSON-LD context
(github.com/gs1/EPCIS); ``tests/test_epcis_validation.py`` checks them against
both files, so a drift is caught rather than silently tolerated.

In EPCIS 2.0 JSON a standard term is written as the bare word (``"shipping"``);
the JSON-LD context maps it to ``https://ref.gs1.org/cbv/BizStep-shipping``. The
CBV 1.x URN (``urn:epcglobal:cbv:bizstep:shipping``) belongs to the XML binding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

CBV_NAMESPACE = "https://ref.gs1.org/cbv/"
CBV_URN_NAMESPACE = "urn:epcglobal:cbv:"
CBV_DRAFT_NAMESPACES = ("https://ns.gs1.org/cbv/", "http://ns.gs1.org/cbv/")
"""Namespace of the EPCIS 2.0 drafts; GS1's JSON schema refuses it, as it does the URN form."""

BIZ_STEPS = frozenset(
    {
        "accepting",
        "arriving",
        "assembling",
        "collecting",
        "commissioning",
        "consigning",
        "creating_class_instance",
        "cycle_counting",
        "decommissioning",
        "departing",
        "destroying",
        "disassembling",
        "dispensing",
        "encoding",
        "entering_exiting",
        "holding",
        "inspecting",
        "installing",
        "killing",
        "loading",
        "other",
        "packing",
        "picking",
        "receiving",
        "removing",
        "repackaging",
        "repairing",
        "replacing",
        "reserving",
        "retail_selling",
        "sampling",
        "sensor_reporting",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
    }
)

DISPOSITIONS = frozenset(
    {
        "active",
        "available",
        "completeness_inferred",
        "completeness_verified",
        "conformant",
        "container_closed",
        "container_open",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "mismatch_class",
        "mismatch_instance",
        "mismatch_quantity",
        "needs_replacement",
        "no_pedigree_match",
        "non_conformant",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unavailable",
        "unknown",
    }
)

SOURCE_DESTINATION_TYPES = frozenset({"owning_party", "possessing_party", "location"})

BUSINESS_TRANSACTION_TYPES = frozenset(
    {
        "bol",
        "cert",
        "desadv",
        "inv",
        "pedigree",
        "po",
        "poc",
        "prodorder",
        "recadv",
        "rma",
        "testprd",
        "testres",
        "upevt",
    }
)

ERROR_REASONS = frozenset({"did_not_occur", "incorrect_data"})


@dataclass(frozen=True)
class CbvVocabulary:
    """One CBV code list and the three spellings of its terms: bare word, web IRI and (XML-only) URN."""

    label: str
    terms: frozenset[str]
    web_prefix: str
    """Prefix of a term under ``CBV_NAMESPACE``: ``https://ref.gs1.org/cbv/BizStep-shipping``."""
    urn_prefix: str


BIZ_STEP = CbvVocabulary("business step", BIZ_STEPS, "BizStep-", "urn:epcglobal:cbv:bizstep:")
DISPOSITION = CbvVocabulary("disposition", DISPOSITIONS, "Disp-", "urn:epcglobal:cbv:disp:")
SOURCE_DESTINATION_TYPE = CbvVocabulary(
    "source/destination type", SOURCE_DESTINATION_TYPES, "SDT-", "urn:epcglobal:cbv:sdt:"
)
BUSINESS_TRANSACTION_TYPE = CbvVocabulary(
    "business transaction type", BUSINESS_TRANSACTION_TYPES, "BTT-", "urn:epcglobal:cbv:btt:"
)
ERROR_REASON = CbvVocabulary("error reason", ERROR_REASONS, "ER-", "urn:epcglobal:cbv:er:")

STANDARD_CONTEXT_PREFIXES = MappingProxyType(
    {
        "epcis": "https://ref.gs1.org/epcis/",
        "cbv": "https://ref.gs1.org/cbv/",
        "cbvmda": "urn:epcglobal:cbv:mda:",
        "gs1": "https://gs1.org/voc/",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "owl": "http://www.w3.org/2002/07/owl#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "dcterms": "http://purl.org/dc/terms/",
    }
)
"""Prefixes the standard EPCIS 2.0 JSON-LD context declares, usable in any EPCIS document without declaring them."""

MASS_UNITS_KG = MappingProxyType(
    {
        "KGM": Decimal("1"),
        "GRM": Decimal("0.001"),
        "MGM": Decimal("0.000001"),
        "MC": Decimal("0.000000001"),
        "DTN": Decimal("100"),
        "TNE": Decimal("1000"),
        "KTN": Decimal("1000000"),
        "CTM": Decimal("0.0002"),
        "APZ": Decimal("0.0311034768"),
        "ONZ": Decimal("0.028349523125"),
        "LBR": Decimal("0.45359237"),
        "STN": Decimal("907.18474"),
        "LTN": Decimal("1016.0469088"),
    }
)
"""UN/CEFACT Recommendation 20 mass units and their exact value in kilograms.

MC microgram, DTN decitonne, KTN kilotonne, CTM metric carat (200 mg), APZ troy
ounce, ONZ avoirdupois ounce, LBR pound, STN short ton (2000 lb), LTN long ton
(2240 lb). The imperial units derive from the international pound of 0.45359237 kg.
"""
