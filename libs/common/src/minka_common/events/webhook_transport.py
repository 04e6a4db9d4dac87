"""The HTTP client webhooks are sent with: every new connection resolves its host once, is refused unless
webhook_targets allows every address, and goes to the checked address itself.

The check sits in httpcore's network backend, below the connection pool, so the URL, the ``Host`` header, TLS SNI
and certificate verification all keep the host name while the socket is opened to the address that was checked.
No second lookup happens between check and connect (DNS rebinding), redirects are not followed, and proxies from
the environment are not used (they would connect on Minka's behalf to an unchecked address).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from minka_common.events.webhook_targets import (
    ADDRESS_NOT_ALLOWED,
    Resolver,
    TargetPolicy,
    TargetRefused,
    checked_addresses,
)

LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


class CheckedNetwork(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy allows, resolved once per connection by ``resolve``."""

    def __init__(self, policy: TargetPolicy, resolve: Resolver, network: httpcore.AsyncNetworkBackend | None = None):
        self.policy, self.resolve = policy, resolve
        self.network = network or httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await checked_addresses(host, port, self.policy, self.resolve)
        except OSError as error:
            raise httpcore.ConnectError(f"{host} does not resolve: {error}") from error
        failure: Exception | None = None
        for address in addresses:  # as the system resolver ordered them
            try:
                return await self.network.connect_tcp(str(address), port, timeout=timeout,
                                                      local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused(ADDRESS_NOT_ALLOWED, f"unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        await self.network.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over a CheckedNetwork."""

    def __init__(self, policy: TargetPolicy, resolve: Resolver, *, network: httpcore.AsyncNetworkBackend | None = None,
                 verify: ssl.SSLContext | bool = True) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify)  # SSL_CERT_FILE/_DIR may name an on-premise CA
        super().__init__(verify=ssl_context, trust_env=False, limits=LIMITS)
        # httpx 0.28 takes no network backend (encode/httpx#3749 proposes one), so the pool it built is replaced by
        # the same pool over the checking backend; test_webhook_transport.py fails if httpx stops using it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections, keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=CheckedNetwork(policy, resolve, network),
        )


def webhook_client(policy: TargetPolicy, resolve: Resolver, timeout_seconds: float, *,
                   network: httpcore.AsyncNetworkBackend | None = None,
                   verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """The client deliveries are sent with. ``network`` and ``verify`` are for tests (a network that reaches a
    local server, a test certificate authority)."""
    return httpx.AsyncClient(transport=CheckedTransport(policy, resolve, network=network, verify=verify),
                             timeout=timeout_seconds, follow_redirects=False, trust_env=False)
