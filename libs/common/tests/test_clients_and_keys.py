import httpx
import pytest

from minka_common.auth import RemoteKeySet, TokenVerifier
from minka_common.clients import ClientCredentialsTokens, ServiceClient
from minka_common.errors import ServiceUnavailable, Unauthorized


async def test_remote_key_set_is_cached_and_refetched_for_an_unknown_key(issuer):
    calls = []
    published = {"keys": issuer.key_set.as_dict()["keys"]}

    def jwks(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json=published)

    http = httpx.AsyncClient(transport=httpx.MockTransport(jwks), base_url="http://issuer.test")
    verifier = TokenVerifier(RemoteKeySet("/.well-known/jwks.json", http, min_refresh_seconds=0), issuer.name, issuer.audience)
    for _ in range(3):
        assert (await verifier.verify(issuer.token(role="admin"))).subject == "tester"
    assert len(calls) == 1

    from joserfc.jwk import RSAKey

    rotated = RSAKey.generate_key(2048, parameters={"kid": "rotated"})
    with pytest.raises(Unauthorized):
        await verifier.verify(issuer.token(key=rotated))
    assert len(calls) == 2  # an unknown key made it look again


async def test_service_client_uses_a_service_token_and_maps_failures(issuer):
    seen_tokens, statuses = [], [503, 503, 200]

    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/oauth/token":
            return httpx.Response(200, json={"access_token": "svc-token", "expires_in": 300})
        seen_tokens.append(request.headers.get("authorization"))
        if request.url.path == "/missing":
            return httpx.Response(404)
        return httpx.Response(statuses.pop(0), json={"ok": True})

    http = httpx.AsyncClient(transport=httpx.MockTransport(upstream), base_url="http://registry.test")
    client = ServiceClient(http, ClientCredentialsTokens(http, "/v1/oauth/token", "id", "secret"), backoff_seconds=0)
    assert await client.get_json("/flaky") == {"ok": True}  # retried twice after 503
    assert await client.get_json("/missing") is None
    assert set(seen_tokens) == {"Bearer svc-token"}


async def test_unreachable_service_is_retried_then_a_503_but_a_slow_one_is_not_retried():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    for handler, expected_attempts, detail in ((down, 3, "is unreachable"), (slow, 1, "did not answer in time")):
        attempts: list[httpx.Request] = []

        def counted(request: httpx.Request, handler=handler, attempts=attempts) -> httpx.Response:
            attempts.append(request)
            return handler(request)

        http = httpx.AsyncClient(transport=httpx.MockTransport(counted), base_url="http://registry.test")
        client = ServiceClient(http, get_attempts=3, backoff_seconds=0)
        with pytest.raises(ServiceUnavailable) as raised:
            await client.get_json("/anything")
        assert raised.value.headers["Retry-After"] and detail in raised.value.detail
        assert len(attempts) == expected_attempts


async def test_service_client_in_process_through_asgi_transport(sample_app, issuer):
    from minka_common.clients import http_client

    http = http_client("http://sample.test", timeout_seconds=2, app=sample_app)
    http.headers["Authorization"] = f"Bearer {issuer.token()}"
    client = ServiceClient(http)
    page = await client.get_json("/v1/items", params={"limit": 1})
    assert set(page) == {"items", "next_cursor"}
