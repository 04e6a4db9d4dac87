"""The registry's own metadata: every registry table is declared on ``RegistryModel``."""

from typing import Annotated

from fastapi import Depends
from sqlmodel.ext.asyncio.session import AsyncSession

from minka_common.db import db_session, service_base
from minka_common.events import event_tables
from minka_common.idempotency import idempotency_table
from minka_common.jobs import job_table

RegistryModel = service_base("registry")
metadata = RegistryModel.metadata
idempotency_keys = idempotency_table(metadata)
event_store = event_tables(metadata)
job_store = job_table(metadata)

Session = Annotated[AsyncSession, Depends(db_session)]
VERSION_TABLE = "alembic_version_registry"
