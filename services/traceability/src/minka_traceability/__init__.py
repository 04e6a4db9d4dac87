"""Minka traceability: lots, custody events, mass balance, claims, provenance and EPCIS 2.0."""
