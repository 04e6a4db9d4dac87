"""Following a job to its end through the API, as a client does: ``GET`` its ``Location`` until it has finished."""

from __future__ import annotations

import asyncio
import time

import httpx

DEADLINE_SECONDS = 300
"""Generous: a busy machine may take long; a job that does not end by then is stuck."""


async def finished(client: httpx.AsyncClient, accepted: httpx.Response, headers: dict[str, str]) -> dict:
    """The job of a ``202 Accepted`` answer once it has succeeded or failed (``client`` is the service's client;
    the Location carries the service's root path, which is dropped when the client is the service itself)."""
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["location"]
    path = location[location.index("/v1/"):]
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"the job at {location} did not finish within {DEADLINE_SECONDS} s")
