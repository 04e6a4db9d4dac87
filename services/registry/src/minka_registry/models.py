"""Imports every table module so the metadata is complete (for Alembic and tests)."""

from minka_registry.identity.models import ApiClient, User
from minka_registry.miners.models import Membership, Miner
from minka_registry.organizations.models import Organization
from minka_registry.sites.models import ForestLayer, ForestPolygon, Site

__all__ = ["ApiClient", "Organization", "User", "Miner", "Membership", "Site", "ForestLayer", "ForestPolygon"]
