from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from minka_common.auth import Principal
from minka_common.types import PatchModel
from minka_registry.miners.access import may_see_national_id
from minka_registry.miners.models import MAX_FULL_NAME_LENGTH, MAX_NATIONAL_ID_LENGTH, Membership, Miner
from minka_registry.miners.rules import Gender

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_full_name(value: str) -> str:
    """Internal whitespace collapsed, as the CSV import does; refuses empty names and control characters."""
    name = " ".join(value.split())
    if not name:
        raise ValueError("full_name is empty")
    if len(name) > MAX_FULL_NAME_LENGTH:
        raise ValueError(f"full_name has {len(name)} characters; the maximum is {MAX_FULL_NAME_LENGTH}")
    if _CONTROL.search(name):
        raise ValueError("full_name contains control characters")
    return name


def clean_national_id(value: str | None) -> str | None:
    """Surrounding whitespace removed; an empty national_id means none (as in the CSV import)."""
    if value is None:
        return None
    national_id = value.strip()
    if not national_id:
        return None
    if len(national_id) > MAX_NATIONAL_ID_LENGTH:
        raise ValueError(f"national_id has {len(national_id)} characters; the maximum is {MAX_NATIONAL_ID_LENGTH}")
    if _CONTROL.search(national_id):
        raise ValueError("national_id contains control characters")
    return national_id


FullName = Annotated[str, AfterValidator(clean_full_name)]
NationalId = Annotated[str | None, AfterValidator(clean_national_id)]


class MinerCreate(BaseModel):
    full_name: FullName
    gender: Gender
    birth_date: date
    national_id: NationalId = None
    cooperative_id: uuid.UUID
    joined_on: date | None = Field(None, description="registration date; defaults to today (UTC)")
    site_id: uuid.UUID | None = Field(None, description="the site where the miner works, a site of the cooperative")


class MinerUpdate(PatchModel):
    """Only the fields sent are changed; ``null`` is accepted for ``national_id`` and ``site_id`` alone."""

    nullable_fields = frozenset({"national_id", "site_id"})

    full_name: FullName | None = None
    gender: Gender | None = None
    birth_date: date | None = None
    national_id: NationalId = None
    site_id: uuid.UUID | None = Field(None, description="a site of the miner's cooperative; null clears it")


class LeaveRequest(BaseModel):
    left_on: date | None = Field(None, description="defaults to today (UTC)")


class JoinRequest(BaseModel):
    cooperative_id: uuid.UUID
    joined_on: date | None = Field(None, description="defaults to today (UTC)")


class MembershipOut(BaseModel):
    id: uuid.UUID
    miner_id: uuid.UUID
    cooperative_id: uuid.UUID
    joined_on: date
    left_on: date | None


class MinerOut(BaseModel):
    id: uuid.UUID
    full_name: str
    gender: Gender
    birth_date: date
    national_id: str | None = Field(
        None, description="only for admin, authority and the miner's own cooperative manager; omitted otherwise"
    )
    cooperative_id: uuid.UUID = Field(description="cooperative of the current membership, or of the last one")
    site_id: uuid.UUID | None = Field(description="the site of that cooperative where the miner works, or null")
    membership: MembershipOut | None = Field(description="the current membership, or null")
    created_at: datetime
    updated_at: datetime


class ImportedMiner(BaseModel):
    line: int = Field(description="The CSV line of the miner (line 1 is the header)")
    id: uuid.UUID


class ImportResult(BaseModel):
    imported: int
    cooperative_id: uuid.UUID
    miners: list[ImportedMiner] = Field(description="The new miners' ids, by the CSV line each came from")


def membership_out(membership: Membership) -> MembershipOut:
    return MembershipOut.model_validate(membership, from_attributes=True)


def miner_out(miner: Miner, membership: Membership | None, principal: Principal) -> MinerOut:
    """The one place that decides what a caller sees of a miner.

    ``national_id`` is left *unset* (not just null) for callers who may not see
    it, so routes that serialise with ``response_model_exclude_unset`` omit it.
    """
    fields: dict[str, Any] = {
        "id": miner.id,
        "full_name": miner.full_name,
        "gender": miner.gender,
        "birth_date": miner.birth_date,
        "cooperative_id": miner.cooperative_id,
        "site_id": miner.site_id,
        "membership": membership_out(membership) if membership is not None else None,
        "created_at": miner.created_at,
        "updated_at": miner.updated_at,
    }
    if may_see_national_id(principal, miner):
        fields["national_id"] = miner.national_id
    return MinerOut(**fields)
