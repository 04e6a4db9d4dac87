import httpx

PROBLEM = "application/problem+json"


async def test_validation_errors_are_problems_naming_each_field(client: httpx.AsyncClient, issuer):
    response = await client.post("/v1/items", json={"name": "", "quantity": -1}, headers=issuer.headers())
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 422 and body["title"]
    assert {error["field"] for error in body["errors"]} == {"name", "quantity"}


async def test_unhandled_errors_are_500_problems_without_internals(client: httpx.AsyncClient):
    response = await client.get("/v1/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "secret internals" not in response.text and "Traceback" not in response.text


async def test_unknown_route_is_a_problem(client: httpx.AsyncClient):
    response = await client.get("/v1/nowhere")
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM


async def test_missing_token_is_401_with_challenge(client: httpx.AsyncClient):
    response = await client.get("/v1/items")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == PROBLEM


async def test_expired_wrong_audience_wrong_issuer_and_foreign_key_are_refused(client: httpx.AsyncClient, issuer):
    from joserfc.jwk import RSAKey

    foreign = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
    bad_tokens = [
        issuer.token(exp=1),
        issuer.token(aud="someone-else"),
        issuer.token(iss="urn:evil"),
        issuer.token(key=foreign),
        "not-a-jwt",
    ]
    for token in bad_tokens:
        response = await client.get("/v1/items", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token


async def test_roles_are_enforced(client: httpx.AsyncClient, issuer):
    assert (await client.get("/v1/admin-only", headers=issuer.headers(role="admin"))).status_code == 200
    response = await client.get("/v1/admin-only", headers=issuer.headers(role="buyer", org="0190b8e0-0000-7000-8000-000000000001"))
    assert response.status_code == 403


async def test_health_readiness_and_metrics(client: httpx.AsyncClient, issuer):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}
    await client.get("/v1/items", headers=issuer.headers())
    metrics = (await client.get("/metrics")).text
    assert 'minka_http_requests_total{method="GET",route="/v1/items",service="sample",status="200"}' in metrics
    assert "minka_http_request_duration_seconds_bucket" in metrics


async def test_readiness_fails_with_a_503_when_the_database_is_unreachable(sample_app):
    from minka_common.db import Database

    healthy = sample_app.state.database
    sample_app.state.database = Database("postgresql+asyncpg://nobody@127.0.0.1:1/nowhere")
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sample_app), base_url="http://sample.test") as client:
            response = await client.get("/readyz")
            alive = await client.get("/healthz")
    finally:
        await sample_app.state.database.dispose()
        sample_app.state.database = healthy
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"]
    assert alive.status_code == 200
