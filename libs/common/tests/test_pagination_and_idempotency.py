import uuid

import httpx
import pytest

from minka_common.errors import Unprocessable
from minka_common.ids import new_id
from minka_common.pagination import decode_cursor, encode_cursor


def test_ids_are_version_7_and_time_ordered():
    first = new_id()
    later = [new_id() for _ in range(100)]
    assert first.version == 7
    assert all(first < other for other in later if other.int >> 80 > first.int >> 80)


def test_cursor_round_trip_and_garbage():
    some_id = uuid.uuid4()
    assert decode_cursor(encode_cursor(some_id)) == some_id
    with pytest.raises(Unprocessable):
        decode_cursor("@@not-a-cursor@@")


async def test_pages_cover_every_item_once(client: httpx.AsyncClient, issuer):
    headers = issuer.headers()
    created = set()
    for n in range(7):
        response = await client.post("/v1/items", json={"name": f"page {n}", "quantity": n}, headers=headers)
        created.add(response.json()["id"])
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/items", params=params, headers=headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert created <= set(seen)


async def test_bad_cursor_and_limit_are_422(client: httpx.AsyncClient, issuer):
    assert (await client.get("/v1/items", params={"cursor": "!!"}, headers=issuer.headers())).status_code == 422
    assert (await client.get("/v1/items", params={"limit": 0}, headers=issuer.headers())).status_code == 422


async def count_items(client, headers) -> int:
    total, cursor = 0, None
    while True:
        page = (await client.get("/v1/items", params={"limit": 500} | ({"cursor": cursor} if cursor else {}), headers=headers)).json()
        total += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return total


async def test_idempotent_replay_returns_the_first_response_and_writes_once(client: httpx.AsyncClient, issuer):
    headers = issuer.headers() | {"Idempotency-Key": "replay-1"}
    before = await count_items(client, issuer.headers())
    first = await client.post("/v1/items", json={"name": "once", "quantity": 1}, headers=headers)
    second = await client.post("/v1/items", json={"name": "once", "quantity": 1}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await count_items(client, issuer.headers()) == before + 1


async def test_same_key_with_another_body_is_refused(client: httpx.AsyncClient, issuer):
    headers = issuer.headers() | {"Idempotency-Key": "mismatch-1"}
    assert (await client.post("/v1/items", json={"name": "a", "quantity": 1}, headers=headers)).status_code == 201
    response = await client.post("/v1/items", json={"name": "b", "quantity": 1}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_keys_are_scoped_to_the_caller(client: httpx.AsyncClient, issuer):
    body = {"name": "mine", "quantity": 1}
    first = await client.post("/v1/items", json=body, headers=issuer.headers(sub="alice") | {"Idempotency-Key": "k"})
    second = await client.post("/v1/items", json=body, headers=issuer.headers(sub="bob") | {"Idempotency-Key": "k"})
    assert first.json()["id"] != second.json()["id"]


async def test_a_server_failure_releases_the_key(client: httpx.AsyncClient, issuer):
    headers = issuer.headers() | {"Idempotency-Key": "fails"}
    assert (await client.post("/v1/fail", headers=headers)).status_code == 500
    again = await client.post("/v1/fail", headers=headers)
    assert again.status_code == 500
    assert "idempotent-replayed" not in again.headers
