from alembic import context

import minka_traceability.models  # noqa: F401  (registers every table on the metadata)
from minka_common.migrations import run_env
from minka_traceability.database import VERSION_TABLE, metadata

run_env(context, metadata, VERSION_TABLE)
