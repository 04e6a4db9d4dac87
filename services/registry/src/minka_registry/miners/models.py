"""Miners (people) and their memberships of cooperatives.

A membership is never overwritten: leaving sets ``left_on``, rejoining adds a
new row. ``Miner.cooperative_id`` is a denormalised copy of the cooperative of
the current membership (or of the last one when none is open); it is what
authorisation filters on.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Column, Enum, Index, text
from sqlmodel import Field

from minka_common.db import timestamp_field
from minka_common.ids import new_id
from minka_registry.database import RegistryModel
from minka_registry.miners.csv_import import MAX_FULL_NAME_LENGTH, MAX_NATIONAL_ID_LENGTH
from minka_registry.miners.rules import Gender


def _gender_column() -> Column:
    # Stores the lower-case values (female, male, …), not the Python member names.
    return Column(
        Enum(Gender, name="miner_gender", values_callable=lambda members: [m.value for m in members]),
        nullable=False,
    )


class Miner(RegistryModel, table=True):
    __tablename__ = "miners"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    full_name: str = Field(max_length=MAX_FULL_NAME_LENGTH)
    search_name: str = Field(description="full_name case- and accent-folded, for ?q= search")
    gender: Gender = Field(sa_column=_gender_column())
    birth_date: date
    # Unique when present; several NULLs are allowed on SQLite and PostgreSQL alike.
    national_id: str | None = Field(default=None, max_length=MAX_NATIONAL_ID_LENGTH, unique=True, index=True)
    cooperative_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    # Where the miner works: a site of ``cooperative_id``; cleared when the miner joins another cooperative.
    site_id: uuid.UUID | None = Field(default=None, foreign_key="sites.id", index=True)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class Membership(RegistryModel, table=True):
    __tablename__ = "memberships"
    __table_args__ = (
        Index("ix_memberships_cooperative_id_joined_on", "cooperative_id", "joined_on"),
        # At most one open membership per miner, also under concurrent requests.
        Index(
            "uq_memberships_one_open_per_miner",
            "miner_id",
            unique=True,
            sqlite_where=text("left_on IS NULL"),
            postgresql_where=text("left_on IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    miner_id: uuid.UUID = Field(foreign_key="miners.id", index=True)
    cooperative_id: uuid.UUID = Field(foreign_key="organizations.id")
    joined_on: date
    left_on: date | None = None
    created_at: datetime = timestamp_field()
