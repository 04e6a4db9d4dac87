from alembic import context

import minka_certification.models  # noqa: F401  (registers every table on the metadata)
from minka_certification.database import VERSION_TABLE, metadata
from minka_common.migrations import run_env

run_env(context, metadata, VERSION_TABLE)
