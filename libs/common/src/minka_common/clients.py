"""Typed base for service-to-service HTTP clients.

Works over the network or in-process (httpx's ASGI transport), always with a
timeout and a service token obtained by client credentials. A dependency that
is down, slow or failing becomes a 503 problem for our own caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from starlette.types import ASGIApp

from minka_common.errors import BadGateway, ServiceUnavailable

logger = logging.getLogger("minka.clients")

RETRYABLE_STATUS = frozenset({502, 503, 504})


def http_client(base_url: str, timeout_seconds: float, app: ASGIApp | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app) if app is not None else None
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=httpx.Timeout(timeout_seconds))


class ClientCredentialsTokens:
    """Obtains and caches an access token with the OAuth 2 client-credentials grant."""

    def __init__(self, http: httpx.AsyncClient, token_path: str, client_id: str, client_secret: str) -> None:
        self._http, self._token_path = http, token_path
        self._client_id, self._client_secret = client_id, client_secret
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() > self._expires_at - 30:
                await self._fetch()
            assert self._token is not None
            return self._token

    def forget(self) -> None:
        self._token = None

    async def _fetch(self) -> None:
        response = await self._http.post(
            self._token_path,
            data={"grant_type": "client_credentials"},
            auth=(self._client_id, self._client_secret),
        )
        if response.status_code != 200:
            raise ServiceUnavailable(f"could not obtain a service token ({response.status_code})")
        body = response.json()
        self._token = body["access_token"]
        self._expires_at = time.monotonic() + float(body.get("expires_in", 300))


class ServiceClient:
    """Base for typed clients of one service; subclasses add methods that return models."""

    service_name = "service"

    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: ClientCredentialsTokens | None = None,
        get_attempts: int = 3,
        backoff_seconds: float = 0.2,
    ) -> None:
        self.http, self.tokens = http, tokens
        self.get_attempts, self.backoff_seconds = get_attempts, backoff_seconds

    async def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any | None:
        """GET with retries (it is idempotent) when the service is unreachable or answers 502/503/504, but not
        when it is slow: waiting again would only multiply our caller's wait. None for 404."""
        for attempt in range(1, self.get_attempts + 1):
            try:
                response = await self._send("GET", path, params=params)
            except DependencyTimedOut:
                raise
            except ServiceUnavailable:
                if attempt == self.get_attempts:
                    raise
            else:
                if response.status_code not in RETRYABLE_STATUS or attempt == self.get_attempts:
                    return self._json_or_none(response)
            await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.http.request(method, path, headers=await self._auth_headers(), **kwargs)
            if response.status_code == 401 and self.tokens is not None:
                self.tokens.forget()
                response = await self.http.request(method, path, headers=await self._auth_headers(), **kwargs)
            return response
        except httpx.TimeoutException as exc:
            raise DependencyTimedOut(f"{self.service_name} did not answer in time") from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"{self.service_name} is unreachable") from exc

    async def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.tokens.token()}"} if self.tokens else {}

    def _json_or_none(self, response: httpx.Response) -> Any | None:
        if response.status_code == 404:
            return None
        if response.status_code >= 500:
            raise ServiceUnavailable(f"{self.service_name} failed ({response.status_code})")
        if response.status_code >= 400:
            raise UpstreamRefused(self.service_name, response)
        return response.json()


class DependencyTimedOut(ServiceUnavailable):
    """Another service accepted the request but did not answer within our timeout."""


class UpstreamRefused(BadGateway):
    """Another service refused our request (4xx other than 404): a bug or a misconfigured service client
    on our side, so our caller gets a 502 rather than a 500, and the details go to the log."""

    def __init__(self, service: str, response: httpx.Response) -> None:
        super().__init__(f"{service} refused this service's request ({response.status_code})")
        self.response = response
        logger.warning("%s answered %s: %s", service, response.status_code, response.text[:500])
