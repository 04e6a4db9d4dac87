"""Sanctions of the internal control system, as plain rules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import Protocol


class Sanction(StrEnum):
    warning = "warning"
    suspension = "suspension"
    exclusion = "exclusion"


class SanctionRecord(Protocol):
    inspected_on: date
    sanction: str | None
    sanction_until: date | None
    lifts_sanction: bool


def sanction_in_force(records: Iterable[SanctionRecord], on: date) -> Sanction | None:
    """The sanction that keeps a member out of the certified group on ``on``, if any.

    ``records`` in the order they happened. An exclusion is final; a suspension lasts until
    its ``sanction_until`` (inclusive) or until a later inspection lifts it; a warning never
    takes a member out.
    """
    suspended, until = False, None
    for record in records:
        if record.inspected_on > on:
            break
        if record.sanction == Sanction.exclusion:
            return Sanction.exclusion
        if record.sanction == Sanction.suspension:
            suspended, until = True, record.sanction_until
        elif record.lifts_sanction:
            suspended = False
    if suspended and (until is None or on <= until):
        return Sanction.suspension
    return None
