"""A real process killed (SIGKILL, as ``kill -9``) in the middle of a write, restarted, and the write retried with
the same ``Idempotency-Key``: the organisation exists exactly once and the retry gets its original id.

The registry runs in its own uvicorn process on the suite's database (SQLite file or PostgreSQL), with a crash
point set to ``kill`` (``MINKA_REGISTRY_CRASH_POINTS``): before its transaction commits, or after the commit
before the answer leaves the process.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from minka_common.idempotency import REPLAYED_HEADER
from minka_common.testing import fresh_database_url, startup_timeout_seconds

ADMIN = ("crash-admin", "crash-admin-secret-0123456789")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@asynccontextmanager
async def registry_process(data_dir: Path, database_url: str, crash_points: dict[str, str]) -> AsyncIterator[str]:
    """The registry in a uvicorn process of its own; yields its base URL once it is ready."""
    port = free_port()
    environment = {
        **os.environ, "MINKA_DATA_DIR": str(data_dir), "MINKA_REGISTRY_DATABASE_URL": database_url,
        "MINKA_BOOTSTRAP_CLIENT_ID": ADMIN[0], "MINKA_BOOTSTRAP_CLIENT_SECRET": ADMIN[1],
        "MINKA_REGISTRY_WEBHOOK_INTERVAL_SECONDS": "0", "MINKA_REGISTRY_CRASH_POINTS": json.dumps(crash_points),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "minka_registry.app:create_app", "--factory", "--host", "127.0.0.1",
        "--port", str(port), env=environment, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        await until_ready(process, url)
        yield url
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def until_ready(process: asyncio.subprocess.Process, url: str) -> None:
    deadline = time.monotonic() + startup_timeout_seconds()
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"the registry exited: {(await process.stderr.read()).decode()[-2000:]}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the registry did not become ready")


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    token = await client.post("/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=ADMIN)
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def organizations_named(client: httpx.AsyncClient, headers: dict, name: str) -> list[dict]:
    found, cursor = [], None
    while True:
        params = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/organizations", headers=headers, params=params)).json()
        found += [organization for organization in page["items"] if organization["name"] == name]
        if not (cursor := page["next_cursor"]):
            return found


@pytest.mark.parametrize("point", ["before_commit", "after_commit"])
async def test_a_write_killed_at_any_moment_is_applied_once_after_restart(tmp_path, point):
    database_url = await fresh_database_url(f"registry_crash_{point}", tmp_path)
    name = f"Cooperativa Kill {point} {uuid.uuid4().hex[:6]}"
    body = {"kind": "cooperative", "name": name, "country": "BO"}
    key = {"Idempotency-Key": f"org-{uuid.uuid4()}"}

    async with registry_process(tmp_path, database_url, {point: "kill"}) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            headers = await admin_headers(client)
            with pytest.raises(httpx.TransportError):  # the process died mid-request: no answer
                await client.post("/v1/organizations", json=body, headers=headers | key)

    async with registry_process(tmp_path, database_url, {}) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            headers = await admin_headers(client)
            retried = await client.post("/v1/organizations", json=body, headers=headers | key)
            assert retried.status_code == 201, retried.text
            assert (REPLAYED_HEADER.lower() in retried.headers) == (point == "after_commit")
            assert [found["id"] for found in await organizations_named(client, headers, name)] == [retried.json()["id"]]
