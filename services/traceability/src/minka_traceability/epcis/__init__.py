"""EPCIS 2.0 (GS1) documents: the CBV vocabularies and strict validation of JSON/JSON-LD documents."""
