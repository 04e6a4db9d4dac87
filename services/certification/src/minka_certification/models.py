"""Imports every table module, so the metadata is complete for Alembic and the app."""

from minka_certification.audits import models as audits  # noqa: F401
from minka_certification.certifications import models as certifications  # noqa: F401
from minka_certification.findings import models as findings  # noqa: F401
from minka_certification.inspections import models as inspections  # noqa: F401
from minka_certification.standards import models as standards  # noqa: F401
