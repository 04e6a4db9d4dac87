import httpx


async def test_bootstrap_client_gets_a_token(registry: httpx.AsyncClient, admin_headers):
    response = await registry.post("/v1/organizations", json={"kind": "cooperative", "name": "Coop A", "country": "pe"}, headers=admin_headers)
    assert response.status_code == 201, response.text
    assert response.json()["country"] == "PE"
