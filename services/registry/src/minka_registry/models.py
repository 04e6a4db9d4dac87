"""Imports every table module so the metadata is complete (for Alembic and tests)."""

from minka_registry.identity.models import ApiClient, User
from minka_registry.organizations.models import Organization

__all__ = ["ApiClient", "Organization", "User"]
