import base64
import json

import httpx

from minka_common.auth import InProcessKeySet, TokenVerifier


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def test_client_credentials_by_basic_auth_and_by_form(registry: httpx.AsyncClient, actors):
    buyer = await actors.organization("buyer")
    created = (await registry.post("/v1/clients", json={"name": "erp", "role": "buyer", "organization_id": buyer["id"]}, headers=actors.admin_headers)).json()
    assert "secret_hash" not in created
    by_basic = await registry.post("/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=(created["client_id"], created["client_secret"]))
    by_form = await registry.post("/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": created["client_id"], "client_secret": created["client_secret"]})
    for response in (by_basic, by_form):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] > 0
        claims = claims_of(body["access_token"])
        assert claims["role"] == "buyer" and claims["org"] == buyer["id"] and claims["aud"] == "minka"


async def test_wrong_secret_unknown_client_and_bad_grant_get_rfc6749_errors(registry: httpx.AsyncClient, actors):
    created = (await registry.post("/v1/clients", json={"name": "x", "role": "authority"}, headers=actors.admin_headers)).json()
    wrong = await registry.post("/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=(created["client_id"], "wrong"))
    unknown = await registry.post("/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "x"))
    bad_grant = await registry.post("/v1/oauth/token", data={"grant_type": "magic"}, auth=(created["client_id"], created["client_secret"]))
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"] == "invalid_client"
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "unsupported_grant_type"


async def test_password_grant_for_a_user(registry: httpx.AsyncClient, actors):
    cooperative = await actors.organization("cooperative")
    user = await registry.post(
        "/v1/users",
        json={"email": "Manager@Coop.example", "password": "correct horse battery", "role": "coop_manager", "organization_id": cooperative["id"]},
        headers=actors.admin_headers,
    )
    assert user.status_code == 201, user.text
    assert "password" not in user.text and "hash" not in user.text
    assert user.json()["email"] == "manager@coop.example"
    token = await registry.post("/v1/oauth/token", data={"grant_type": "password", "username": "manager@coop.example", "password": "correct horse battery"})
    assert token.status_code == 200, token.text
    claims = claims_of(token.json()["access_token"])
    assert claims["sub"] == user.json()["id"] and claims["role"] == "coop_manager" and claims["org"] == cooperative["id"]
    wrong = await registry.post("/v1/oauth/token", data={"grant_type": "password", "username": "manager@coop.example", "password": "nope nope nope"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_request"


async def test_duplicate_email_is_409_and_weak_password_422(registry: httpx.AsyncClient, actors):
    body = {"email": "dup@example.org", "password": "long enough pass", "role": "admin"}
    assert (await registry.post("/v1/users", json=body, headers=actors.admin_headers)).status_code == 201
    assert (await registry.post("/v1/users", json=body, headers=actors.admin_headers)).status_code == 409
    weak = await registry.post("/v1/users", json=body | {"email": "weak@example.org", "password": "short"}, headers=actors.admin_headers)
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "password"


async def test_roles_must_match_their_organisation(registry: httpx.AsyncClient, actors):
    buyer = await actors.organization("buyer")
    mismatched = await registry.post("/v1/clients", json={"name": "x", "role": "coop_manager", "organization_id": buyer["id"]}, headers=actors.admin_headers)
    unbound = await registry.post("/v1/clients", json={"name": "x", "role": "certifier"}, headers=actors.admin_headers)
    missing = await registry.post("/v1/clients", json={"name": "x", "role": "buyer", "organization_id": "0190b8e0-0000-7000-8000-000000000001"}, headers=actors.admin_headers)
    for response in (mismatched, unbound, missing):
        assert response.status_code == 422, response.text
    assert "cooperative" in mismatched.json()["errors"][0]["reason"]


async def test_only_admins_create_accounts(registry: httpx.AsyncClient, actors):
    cooperative, manager = await actors.cooperative_manager()
    body = {"name": "sneaky", "role": "admin"}
    assert (await registry.post("/v1/clients", json=body, headers=manager)).status_code == 403
    assert (await registry.post("/v1/users", json={"email": "a@b.org", "password": "0123456789ab", "role": "admin"}, headers=manager)).status_code == 403
    assert (await registry.post("/v1/clients", json=body)).status_code == 401


async def test_jwks_verifies_issued_tokens(registry: httpx.AsyncClient, admin_headers, registry_app):
    from joserfc.jwk import KeySet

    jwks = (await registry.get("/.well-known/jwks.json")).json()
    assert all("d" not in key for key in jwks["keys"])  # public parts only
    settings = registry_app.state.settings
    verifier = TokenVerifier(InProcessKeySet(lambda: KeySet.import_key_set(jwks)), settings.auth_issuer, settings.auth_audience)
    principal = await verifier.verify(admin_headers["Authorization"].removeprefix("Bearer "))
    assert principal.role == "admin"


async def test_signing_key_survives_a_restart(tmp_path):
    from minka_registry.identity.keys import SigningKeys

    key_file = tmp_path / "key.json"
    first = SigningKeys.load_or_create(None, key_file)
    second = SigningKeys.load_or_create(None, key_file)
    assert first.jwks() == second.jwks()
    assert oct(key_file.stat().st_mode)[-3:] == "600"


async def test_bootstrap_client_secret_is_updated_on_start(tmp_path):

    from minka_common.testing import fresh_database_url, running
    from minka_registry.app import create_app
    from minka_registry.settings import RegistrySettings

    url = await fresh_database_url("registry_bootstrap", tmp_path)
    for secret in ("first-secret-123456", "second-secret-123456"):
        app = create_app(RegistrySettings(data_dir=tmp_path, database_url=url, bootstrap_client_id="boot", bootstrap_client_secret=secret))
        async with running(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r") as client:
            ok = await client.post("/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=("boot", secret))
            assert ok.status_code == 200
    old = None
    app = create_app(RegistrySettings(data_dir=tmp_path, database_url=url))
    async with running(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r") as client:
        old = await client.post("/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=("boot", "first-secret-123456"))
    assert old.status_code == 401
