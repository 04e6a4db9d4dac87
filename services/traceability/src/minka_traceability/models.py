"""Imports every table module, so the metadata is complete for Alembic and the app."""

from minka_traceability.epcis import models as epcis  # noqa: F401
from minka_traceability.lots import models as lots  # noqa: F401
from minka_traceability.red_flags import models as red_flags  # noqa: F401
from minka_traceability.transfers import models as transfers  # noqa: F401
