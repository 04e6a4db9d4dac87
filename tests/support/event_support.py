"""Reading a service's event feed in tests, as an integrator would: page after page, following next_cursor."""

from __future__ import annotations

import httpx


async def feed(client: httpx.AsyncClient, headers: dict, **params) -> dict:
    """One page of ``GET /v1/events``."""
    response = await client.get("/v1/events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def events(client: httpx.AsyncClient, headers: dict, after: str | None = None, **params) -> list[dict]:
    """Every event the caller sees after the cursor, following next_cursor to the end."""
    seen: list[dict] = []
    while True:
        page = await feed(client, headers, **({"after": after} if after else {}), limit=500, **params)
        seen += page["items"]
        after = page["next_cursor"]
        if not page["has_more"]:
            return seen


def before(event: dict) -> str:
    """The cursor just before an event: where a reader that has not seen it yet stands."""
    return str(int(event["cursor"]) - 1)
