"""Identifiers and time.

Ids are UUID version 7 (RFC 9562): time-ordered, so ordering by id is creation
order and cursor pagination can use the id alone.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime


def new_id() -> uuid.UUID:
    unix_ms = time.time_ns() // 1_000_000
    random_bits = int.from_bytes(os.urandom(10), "big")
    value = (unix_ms & 0xFFFF_FFFF_FFFF) << 80 | random_bits & ((1 << 80) - 1)
    value = value & ~(0xF << 76) | (0x7 << 76)  # version 7
    value = value & ~(0x3 << 62) | (0x2 << 62)  # RFC 9562 variant
    return uuid.UUID(int=value)


Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def today(clock: Clock = utcnow) -> date:
    return clock().date()
