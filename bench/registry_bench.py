"""Registry benchmark: CSV import and forest-distance recomputation, measured side by side in one run.

    make bench                       # SQLite
    MINKA_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test make bench

Reports wall-clock seconds and ratios, so the claims ("10,000 rows in a few
seconds", "the import scales linearly", "a forest upload recomputes every
site quickly") can be checked on any machine.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from pathlib import Path

import httpx

from minka_common.testing import fresh_database_url, running
from minka_registry.app import create_app
from minka_registry.settings import RegistrySettings

ADMIN = ("bench-admin", "bench-admin-secret")


def miners_csv(rows: int, prefix: str) -> str:
    lines = ["full_name,gender,birth_date,national_id"]
    lines += [f"Miner {prefix}{n},{'female' if n % 2 else 'male'},1980-01-{n % 28 + 1:02d},{prefix}-{n}" for n in range(rows)]
    return "\n".join(lines) + "\n"


def square(lon: float, lat: float, half: float) -> dict:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half]]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def forest_layer(polygons: int) -> dict:
    side = math.ceil(math.sqrt(polygons))
    features = [
        {"type": "Feature", "properties": {}, "geometry": square(20 + (n % side) * 0.05, -5 + (n // side) * 0.05, 0.01)}
        for n in range(polygons)
    ]
    return {"type": "FeatureCollection", "features": features}


async def timed(label: str, request) -> float:
    started = time.perf_counter()
    response = await request
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, f"{label}: {response.status_code} {response.text[:300]}"
    print(f"  {label:<48} {elapsed:7.2f} s")
    return elapsed


async def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        url = await fresh_database_url("registry_bench", Path(data_dir))
        print(f"database: {url.split('://')[0]}")
        app = create_app(RegistrySettings(data_dir=data_dir, database_url=url, bootstrap_client_id=ADMIN[0], bootstrap_client_secret=ADMIN[1]))
        async with running(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600
        ) as client:
            token = (await client.post("/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=ADMIN)).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}

            async def cooperative() -> str:
                body = {"kind": "cooperative", "name": "bench", "country": "CD"}
                return (await client.post("/v1/organizations", json=body, headers=headers)).json()["id"]

            async def import_rows(rows: int, prefix: str) -> float:
                path = f"/v1/miners/import?cooperative_id={await cooperative()}"
                body = miners_csv(rows, prefix)
                return await timed(f"import {rows:,} miners", client.post(path, content=body, headers=headers | {"Content-Type": "text/csv"}))

            print("CSV import (all-or-nothing, one transaction)")
            small = await import_rows(1_000, "a")
            large = await import_rows(10_000, "b")
            print(f"  per-row cost, 10,000 vs 1,000 rows: ratio {large / 10 / small:.2f} (1.00 = linear)")

            print("Forest layers (every site recomputed on upload)")
            coop = await cooperative()
            for n in range(1_000):
                site = {"cooperative_id": coop, "name": f"site {n}", "geometry": {"type": "Point", "coordinates": [20 + (n % 40) * 0.1, -5 + (n // 40) * 0.1]}, "minerals": ["gold"], "method": "alluvial"}
                await client.post("/v1/sites", json=site, headers=headers)
            small_layer = await timed("upload 2,000 polygons, 1,000 sites", client.post("/v1/forest-layers", json=forest_layer(2_000), headers=headers))
            large_layer = await timed("upload 20,000 polygons, 1,000 sites", client.post("/v1/forest-layers", json=forest_layer(20_000), headers=headers))
            print(f"  cost ratio, 10x the polygons: {large_layer / small_layer:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
