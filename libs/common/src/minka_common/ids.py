"""Identifiers and time.

Ids are UUID version 7 (RFC 9562): time-ordered, so ordering by id is creation
order and cursor pagination can use the id alone.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

_RANDOM_BITS = 74  # of a UUID v7's 128: 48 are the time, 4 the version and 2 the variant
_last_id = 0
_last_id_lock = threading.Lock()


def new_id() -> uuid.UUID:
    """Monotonic within the process: an id that would not sort after the previous one (made in the same
    millisecond, with smaller random bits) is the previous one plus one instead (RFC 9562, 6.2)."""
    global _last_id
    unix_ms = (time.time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF
    random_bits = int.from_bytes(os.urandom(10), "big") >> (80 - _RANDOM_BITS)
    with _last_id_lock:
        _last_id = max(unix_ms << _RANDOM_BITS | random_bits, _last_id + 1)
        current = _last_id
    unix_ms, random_bits = current >> _RANDOM_BITS, current & ((1 << _RANDOM_BITS) - 1)
    rand_a, rand_b = random_bits >> 62, random_bits & ((1 << 62) - 1)
    return uuid.UUID(int=unix_ms << 80 | 0x7 << 76 | rand_a << 64 | 0x2 << 62 | rand_b)  # version 7, RFC variant


Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def today(clock: Clock = utcnow) -> date:
    return clock().date()
