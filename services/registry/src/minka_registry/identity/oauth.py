"""The token endpoint, served by authlib's framework-neutral OAuth 2 core.

authlib's core is synchronous, so the route first loads the accounts the
request names (async database access), then runs a per-request authorization
server in a worker thread, where password hashing may take its time.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant, ResourceOwnerPasswordCredentialsGrant

from minka_common.auth import Role
from minka_registry.identity.keys import SigningKeys
from minka_registry.identity.models import ApiClient, User
from minka_registry.identity.passwords import spend_verification_time, verify_secret

PUBLIC_CLIENT_ID = "minka-web"
"""The built-in public client for the password grant (the thin web client); it has no secret."""
IMPLICIT_PUBLIC_CLIENT = "implicit_public_client"
"""Client authentication method: a password-grant request that names no client is the web client's."""


@dataclass(frozen=True)
class TokenRequestAccounts:
    """The accounts a token request names, loaded before authlib runs."""

    client: ApiClient | None
    user: User | None


class ConfidentialClient(ClientMixin):
    def __init__(self, record: ApiClient) -> None:
        self.record = record

    def get_client_id(self) -> str:
        return self.record.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(self.record.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in {"client_secret_basic", "client_secret_post"}

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"

    def get_allowed_scope(self, scope: str | None) -> str:
        return ""


class PublicWebClient(ClientMixin):
    def get_client_id(self) -> str:
        return PUBLIC_CLIENT_ID

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in {"none", IMPLICIT_PUBLIC_CLIENT}

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "password"

    def get_allowed_scope(self, scope: str | None) -> str:
        return ""


class FormPayload(OAuth2Payload):
    def __init__(self, form: dict[str, list[str]]) -> None:
        self._datalist = defaultdict(list, form)
        self._data = {key: values[0] for key, values in form.items() if values}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class FormTokenRequest(OAuth2Request):
    def __init__(self, uri: str, headers: dict[str, str], form: dict[str, list[str]]) -> None:
        super().__init__("POST", uri, headers=headers)
        self.payload = FormPayload(form)
        self._form = self.payload.data

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


class PasswordGrant(ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none", IMPLICIT_PUBLIC_CLIENT]

    def authenticate_user(self, username: str, password: str) -> User | None:
        user: User | None = self.server.accounts.user
        if user is None or user.email != username.strip().lower():
            spend_verification_time()
            return None
        return user if verify_secret(user.password_hash, password) else None


class ClientGrant(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def _web_client_when_none_named(query_client: Any, request: OAuth2Request) -> ClientMixin | None:
    names_a_client = "authorization" in request.headers or "client_id" in request.payload.data
    return None if names_a_client else PublicWebClient()


class TokenServer(AuthorizationServer):
    def __init__(self, accounts: TokenRequestAccounts, keys: SigningKeys, issuer: str, audience: str, ttl: int):
        super().__init__(scopes_supported=[])
        self.accounts = accounts
        self._keys, self._issuer, self._audience, self._ttl = keys, issuer, audience, ttl
        self.register_grant(ClientGrant)
        self.register_grant(PasswordGrant)
        self.register_token_generator("default", self._generate)
        self.register_client_auth_method(IMPLICIT_PUBLIC_CLIENT, _web_client_when_none_named)

    def query_client(self, client_id: str) -> ClientMixin | None:
        if client_id == PUBLIC_CLIENT_ID:
            return PublicWebClient()
        record = self.accounts.client
        if record is None or record.client_id != client_id:
            spend_verification_time()
            return None
        return ConfidentialClient(record)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Tokens are self-contained JWTs; nothing to store."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: FormTokenRequest) -> FormTokenRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> tuple[int, Any, list]:
        return status, body, headers

    def _generate(self, grant_type: str, client: ClientMixin, user: User | None = None, **_: Any) -> dict[str, Any]:
        claims = self._claims_for(client, user)
        return {
            "access_token": self._keys.sign(claims, self._ttl),
            "token_type": "Bearer",
            "expires_in": self._ttl,
        }

    def _claims_for(self, client: ClientMixin, user: User | None) -> dict[str, Any]:
        holder: User | ApiClient = user if user is not None else client.record  # type: ignore[attr-defined]
        subject = str(user.id) if user is not None else holder.client_id  # type: ignore[union-attr]
        return {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "role": Role(holder.role).value,
            "org": str(holder.organization_id) if holder.organization_id else None,
            "client_id": client.get_client_id(),
        }


def issue_token_response(
    accounts: TokenRequestAccounts,
    keys: SigningKeys,
    *,
    issuer: str,
    audience: str,
    ttl: int,
    uri: str,
    headers: dict[str, str],
    form: dict[str, list[str]],
) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
    server = TokenServer(accounts, keys, issuer, audience, ttl)
    status, body, response_headers = server.create_token_response(FormTokenRequest(uri, headers, form))
    if isinstance(body, str):
        body = json.loads(body)
    return status, body, response_headers

