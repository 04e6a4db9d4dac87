"""May Minka send a webhook to this address? The one rule, as plain functions, and the resolution it checks.

A webhook is registered by an outside party but sent from inside Minka's network, so a target that reaches inside
(loopback, private networks, link-local such as a cloud's metadata service, multicast, unspecified, reserved, or
anything else not globally routable) would let that party probe and call internal services. Such targets are
refused at registration and again at every connection, because what a name resolves to can change.

Host literals are read the way the C library's resolver reads them (``2130706433``, ``0x7f.1``, ``0177.0.0.1``,
``127.1``, ``[::ffff:127.0.0.1]``), IPv6 addresses that embed an IPv4 address are judged by it as well, and every
address a name resolves to must pass: one internal address among public ones is enough to refuse. A deployment
lists its exceptions (host names, addresses or networks that may be internal: test and on-premise receivers) in
``MINKA_WEBHOOK_ALLOWED_PRIVATE_TARGETS``; ``http`` targets need ``MINKA_WEBHOOK_ALLOW_HTTP``.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import httpx

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""``await resolve(host, port)``: the addresses a connection to the host may go to; OSError when there are none."""

MUST_BE_HTTPS = "must be an https URL"
NOT_PUBLIC = "must point to a public internet address, not a loopback, private, link-local or other internal one"
DOES_NOT_RESOLVE = "the host name does not resolve"
ADDRESS_NOT_ALLOWED = "the target address is not allowed"
HTTPS_REQUIRED = "the target URL is not allowed: https is required"

NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 host itself, reached through a translator
IPV4_COMPATIBLE = IPv6Network("::/96")  # RFC 4291, deprecated; ``::`` and ``::1`` are in it too
_NUMBER_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")
_HOST_NAME = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*")


class TargetRefused(Exception):
    """A webhook target Minka does not connect to. ``reason`` may be shown to the webhook's owner; the message
    (with the addresses concerned) is for the server log only."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def normalized_host(host: str) -> str:
    """A URL's host as compared with the rules: lower case, without IPv6 brackets or the root's trailing dot."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.removesuffix(".")


def is_local_name(host: str) -> bool:
    """``localhost`` and every name under it (RFC 6761: they are this machine, whatever DNS says)."""
    name = normalized_host(host)
    return name == "localhost" or name.endswith(".localhost")


def ipv4_literal(host: str) -> IPv4Address | None:
    """The IPv4 address the C library's ``inet_aton`` (and so ``getaddrinfo``) reads in ``host``, or None.

    One to four dot-separated numbers, each decimal, octal (a leading ``0``) or hexadecimal (``0x``); the last
    number fills all the bytes the earlier ones left: ``2130706433``, ``0x7f.1``, ``127.1`` and ``0177.0.0.1`` are
    all 127.0.0.1."""
    parts = normalized_host(host).split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER_PART.fullmatch(part) for part in parts):
        return None
    numbers = [int(part, 16) if part[:2] in ("0x", "0X") else int(part, 8) if part.startswith("0") else int(part)
               for part in parts]
    *leading, last = numbers
    if any(number > 0xFF for number in leading) or last >= 1 << (8 * (5 - len(numbers))):
        return None
    value = last
    for position, number in enumerate(leading):
        value |= number << (8 * (3 - position))
    return IPv4Address(value)


def ip_literal(host: str) -> IPAddress | None:
    """The address a URL host names literally (IPv6, IPv4 in any notation the resolver accepts), or None for a
    name."""
    name = normalized_host(host)
    if ":" in name:
        try:
            return IPv6Address(name.replace("%25", "%"))  # a zone id, percent-encoded in URLs
        except ValueError:
            return None
    return ipv4_literal(name)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries and leads to: IPv4-mapped, NAT64, IPv4-compatible, 6to4 or
    Teredo (its client)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64_WELL_KNOWN or address in IPV4_COMPATIBLE:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _is_global_unicast(address: IPAddress) -> bool:
    internal = (address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
                or address.is_unspecified or address.is_reserved
                or (isinstance(address, IPv6Address) and address.is_site_local))
    return address.is_global and not internal


def is_public(address: IPAddress) -> bool:
    """Whether an address is a public internet unicast address, so that a webhook may be sent to it."""
    if isinstance(address, IPv6Address):
        embedded = embedded_ipv4(address)
        if address.ipv4_mapped is not None or address in NAT64_WELL_KNOWN:
            return embedded is not None and _is_global_unicast(embedded)  # this is the IPv4 host, nothing else
        if embedded is not None and not _is_global_unicast(embedded):
            return False
    return _is_global_unicast(address)


def parse_exception(entry: str) -> str | IPNetwork:
    """One entry of the exceptions setting: a network (``10.1.0.0/16``), an address (any notation; a network of
    one) or a host name. ValueError for anything else."""
    text = normalized_host(entry)
    literal = ip_literal(text)
    if literal is not None:
        return ip_network(literal.compressed.split("%")[0])
    try:
        return ip_network(text, strict=False)
    except ValueError:
        pass
    if _HOST_NAME.fullmatch(text):
        return text
    raise ValueError(f"not a host name, IP address or network: {entry!r}")


@dataclass(frozen=True)
class TargetPolicy:
    """Which webhook targets a deployment allows: https only unless ``allow_http``; public addresses only, except
    the host names and networks it lists (whose addresses are then not checked)."""

    allow_http: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, *, allow_http: bool = False, exceptions: Iterable[str] = ()) -> TargetPolicy:
        parsed = [parse_exception(entry) for entry in exceptions]
        return cls(allow_http, frozenset(entry for entry in parsed if isinstance(entry, str)),
                   tuple(entry for entry in parsed if not isinstance(entry, str)))

    def trusts_host(self, host: str) -> bool:
        return normalized_host(host) in self.allowed_hosts

    def allows(self, address: IPAddress) -> bool:
        candidates = [address]
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        excepted = any(candidate in network for candidate in candidates for network in self.allowed_networks
                       if candidate.version == network.version)
        return excepted or is_public(address)


def url_refusal(url: str, policy: TargetPolicy) -> str | None:
    """Why a webhook URL is refused before any resolution (scheme, ``localhost`` names, internal address
    literals in any notation), or None. Uses httpx's parser, as the delivery does, so both read the same host."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "not a valid URL"
    if parsed.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if parsed.scheme == "http" and not policy.allow_http:
        return MUST_BE_HTTPS
    if not parsed.host:
        return "must name a host"
    if policy.trusts_host(parsed.host):
        return None
    literal = ip_literal(parsed.host)
    if is_local_name(parsed.host) or (literal is not None and not policy.allows(literal)):
        return NOT_PUBLIC
    return None


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The system resolver (``getaddrinfo``, run in a worker thread by asyncio), as a connection would use it."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ip_address(info[4][0]) for info in infos))


async def checked_addresses(host: str, port: int, policy: TargetPolicy, resolve: Resolver) -> list[IPAddress]:
    """Resolves ``host`` once and returns its addresses if Minka may connect to every one of them; the caller
    connects to these and looks the name up no second time (a name that resolves to a public address for the
    check and to an internal one for the connection: DNS rebinding). TargetRefused otherwise; OSError when the
    name does not resolve."""
    trusted = policy.trusts_host(host)
    if is_local_name(host) and not trusted:
        raise TargetRefused(ADDRESS_NOT_ALLOWED, f"{host} is a local name")
    addresses = list(await resolve(host, port))
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} resolves to no address")
    refused = [address for address in addresses if not policy.allows(address)]
    if refused and not trusted:
        listed = ", ".join(str(address) for address in refused)
        raise TargetRefused(ADDRESS_NOT_ALLOWED, f"{host} resolves to addresses that are not allowed: {listed}")
    return addresses


def default_port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


async def registration_refusal(url: str, policy: TargetPolicy, resolve: Resolver, timeout_seconds: float) \
        -> str | None:
    """Why a webhook URL is refused at registration, or None: the URL rules, then the addresses its host
    resolves to now (deliveries check them again, as they may change)."""
    refusal = url_refusal(url, policy)
    if refusal is not None:
        return refusal
    parsed = httpx.URL(url)
    if policy.trusts_host(parsed.host):
        return None
    try:
        async with asyncio.timeout(timeout_seconds):
            await checked_addresses(parsed.host, default_port(parsed), policy, resolve)
    except TargetRefused:
        return NOT_PUBLIC
    except (OSError, TimeoutError):
        return DOES_NOT_RESOLVE
    return None


def delivery_refusal(url: str, policy: TargetPolicy) -> TargetRefused | None:
    """What keeps a delivery from being sent before any connection: the URL rules under the current policy
    (a webhook registered while http was allowed is not sent once it no longer is)."""
    refusal = url_refusal(url, policy)
    if refusal is None:
        return None
    reason = HTTPS_REQUIRED if refusal == MUST_BE_HTTPS else ADDRESS_NOT_ALLOWED
    return TargetRefused(reason, f"{url}: {refusal}")
