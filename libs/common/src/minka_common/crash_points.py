"""Named moments at which a test makes a request fail as a crash would, to prove that every write is applied
exactly once whatever moment a crash strikes.

A service's ``crash_points`` setting (``MINKA_<SERVICE>_CRASH_POINTS``, JSON, tests only; empty in production)
maps a point to ``raise`` (the request fails with an exception there, in the process) or ``kill`` (the process
kills itself with SIGKILL there, as ``kill -9`` would). Tests may also set ``app.state.crash_points``.
"""

from __future__ import annotations

import os
import signal
from enum import StrEnum
from typing import Any


class CrashPoint(StrEnum):
    before_commit = "before_commit"
    """The request's changes and its idempotency outcome are written, not yet committed."""
    after_commit = "after_commit"
    """Committed; the response has not left the process."""


class CrashAction(StrEnum):
    raise_ = "raise"
    kill = "kill"


class SimulatedCrash(Exception):
    """Raised at a crash point set to ``raise``."""


def crash_point(state: Any, point: CrashPoint) -> None:
    settings = getattr(state, "settings", None)
    points = getattr(state, "crash_points", None) or getattr(settings, "crash_points", None) or {}
    action = points.get(point)
    if action == CrashAction.raise_:
        raise SimulatedCrash(f"simulated crash at {point}")
    if action == CrashAction.kill:
        os.kill(os.getpid(), signal.SIGKILL)
