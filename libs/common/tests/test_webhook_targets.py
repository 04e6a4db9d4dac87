"""The rule "may Minka send a webhook to this address?" as plain functions: host literals read as the resolver reads
them, internal addresses in every form refused, exceptions, https, and the check of resolved addresses."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address, ip_network

import pytest

from minka_common.events.webhook_targets import (
    ADDRESS_NOT_ALLOWED,
    DOES_NOT_RESOLVE,
    HTTPS_REQUIRED,
    MUST_BE_HTTPS,
    NOT_PUBLIC,
    TargetPolicy,
    TargetRefused,
    checked_addresses,
    delivery_refusal,
    embedded_ipv4,
    ip_literal,
    ipv4_literal,
    is_local_name,
    is_public,
    parse_exception,
    registration_refusal,
    url_refusal,
)
from minka_common.settings import ServiceSettings

STRICT = TargetPolicy()
PUBLIC_V4, PUBLIC_V6 = "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"


@pytest.mark.parametrize("host, address", [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),  # one 32-bit number
    ("0x7f000001", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),  # the last part fills the bytes left
    ("127.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),  # octal
    ("0x7F.0X0.0.0x1", "127.0.0.1"),
    ("0", "0.0.0.0"),
    ("0.0", "0.0.0.0"),
    ("10.65535", "10.0.255.255"),
    ("169.254.43518", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("127.0.0.1.", "127.0.0.1"),  # the root's trailing dot
    ("1.2.3.4", "1.2.3.4"),
])
def test_ipv4_literals_are_read_as_the_c_resolver_reads_them(host, address):
    assert ipv4_literal(host) == IPv4Address(address)


def test_the_reading_agrees_with_this_machines_resolver():
    for host in ("2130706433", "0x7f.1", "127.1", "0177.0.0.1", "017700000001", "10.65535", "0"):
        resolved = {info[4][0] for info in socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)}
        assert resolved == {str(ipv4_literal(host))}, host


@pytest.mark.parametrize("host", [
    "example.com", "1.2.3.4.5", "256.1.1.1", "1.256.1.1", "1.2.16777216", "4294967296", "08.1.1.1", "0x", "0x.1",
    "1..1", ".1", "", "1e1", "١٢٧.0.0.1", "127.0.0.1 x", "0x7g.1",
])
def test_names_and_impossible_numbers_are_not_ipv4_literals(host):
    assert ipv4_literal(host) is None


@pytest.mark.parametrize("host, address", [
    ("[::1]", "::1"),
    ("::1", "::1"),
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
    ("[0:0:0:0:0:ffff:7f00:1]", "::ffff:127.0.0.1"),
    ("[fe80::1%25eth0]", "fe80::1%eth0"),
    ("0x7f.1", "127.0.0.1"),
    ("LOCALHOST", None),
    ("[not-an-address]", None),
])
def test_ip_literals_of_url_hosts(host, address):
    assert ip_literal(host) == (None if address is None else ip_address(address))


@pytest.mark.parametrize("address, embedded", [
    ("::ffff:127.0.0.1", "127.0.0.1"),  # IPv4-mapped
    ("64:ff9b::a00:1", "10.0.0.1"),  # NAT64
    ("::7f00:1", "127.0.0.1"),  # IPv4-compatible
    ("2002:a9fe:a9fe::1", "169.254.169.254"),  # 6to4
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),  # Teredo: the client, stored inverted
    ("2606:4700::1", None),
])
def test_ipv6_addresses_that_carry_an_ipv4_address(address, embedded):
    assert embedded_ipv4(IPv6Address(address)) == (None if embedded is None else IPv4Address(embedded))


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.255.255.254",  # loopback
    "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",  # private
    "169.254.169.254", "169.254.0.1",  # link-local (cloud metadata)
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "0.0.0.0", "0.1.2.3",  # unspecified, "this network"
    "224.0.0.1", "224.0.1.1", "239.255.255.250",  # multicast, also the globally scoped ones
    "240.0.0.1", "255.255.255.255",  # reserved, broadcast
    "192.0.0.1", "192.0.2.1", "198.18.0.1", "198.51.100.1", "203.0.113.1",  # protocol assignments, tests, benchmarks
    "::1", "::",  # loopback, unspecified
    "fe80::1", "fe80::1%eth0",  # link-local
    "fc00::1", "fd12:3456::1",  # unique local
    "fec0::1",  # site-local (deprecated, still routed internally by some)
    "ff02::1", "ff0e::1",  # multicast, also global scope
    "2001:db8::1",  # documentation
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0",  # IPv4-mapped
    "::7f00:1", "::a00:1", "::5db8:d822",  # IPv4-compatible (deprecated)
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe",  # NAT64 to internal IPv4
    "64:ff9b:1::a00:1",  # local-use NAT64
    "2002:7f00:1::1", "2002:a00:1::1", "2002:a9fe:a9fe::",  # 6to4 embedding internal IPv4
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
    "100::1",  # discard-only
])
def test_internal_addresses_are_not_public(address):
    assert not is_public(ip_address(address))
    assert not STRICT.allows(ip_address(address))


@pytest.mark.parametrize("address", [
    PUBLIC_V4, "8.8.8.8", "1.1.1.1", "100.128.0.1", "172.32.0.1", "192.169.0.1",
    PUBLIC_V6, "2606:4700::1111",
    "::ffff:93.184.216.34",  # IPv4-mapped public
    "64:ff9b::5db8:d822",  # NAT64 to a public IPv4 (an IPv6-only network with DNS64)
    "2002:5db8:d822::1",  # 6to4 of a public IPv4
])
def test_public_addresses_are_allowed(address):
    assert is_public(ip_address(address)) and STRICT.allows(ip_address(address))


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "localhost.", "api.localhost", "a.b.localhost."])
def test_localhost_and_its_subdomains_are_local_names(host):
    assert is_local_name(host)


@pytest.mark.parametrize("host", ["localhost.example.com", "mylocalhost", "example.com"])
def test_other_names_are_not_local(host):
    assert not is_local_name(host)


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://127.0.0.1:5432/", "https://localhost/", "https://LocalHost.:8443/",
    "https://api.localhost/", "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]/",
    "https://2130706433/", "https://0x7f.1/", "https://127.1/", "https://0x7f000001/", "https://017700000001/",
    "https://169.254.169.254/latest/meta-data/", "https://0xa9fea9fe/", "https://10.0.0.1/", "https://192.168.0.10/",
    "https://0/", "https://[::]/", "https://[fe80::1%25eth0]/", "https://[fd00::1]/", "https://[64:ff9b::a00:1]/",
    "https://[2002:7f00:1::]/", "https://224.0.0.1/", "https://user:pass@127.0.0.1/", "https://127.0.0.1./",
])
def test_internal_targets_are_refused_in_every_notation(url):
    assert url_refusal(url, STRICT) == NOT_PUBLIC


@pytest.mark.parametrize("url", [
    f"https://{PUBLIC_V4}/hook", f"https://[{PUBLIC_V6}]:8443/x", "https://example.com/hook",
    "https://hooks.example.com:8443/a?b=c", "https://localhost.example.com/",
])
def test_public_https_targets_pass_the_url_rules(url):
    assert url_refusal(url, STRICT) is None


def test_http_targets_need_the_setting():
    assert url_refusal("http://example.com/hook", STRICT) == MUST_BE_HTTPS
    assert url_refusal("http://example.com/hook", TargetPolicy(allow_http=True)) is None
    assert url_refusal("http://127.0.0.1/hook", TargetPolicy(allow_http=True)) == NOT_PUBLIC
    assert url_refusal("ftp://example.com/", TargetPolicy(allow_http=True)) == "must be an http or https URL"
    assert url_refusal("https://[::1/", STRICT) == "not a valid URL"


def test_exceptions_allow_exactly_the_hosts_addresses_and_networks_listed():
    policy = TargetPolicy.of(exceptions=["127.0.0.1", "10.1.0.0/16", "hooks.onprem.example", "[fd00::1]"])
    for url in ("https://127.0.0.1:8000/", "https://2130706433/", "https://[::ffff:127.0.0.1]/", "https://10.1.2.3/",
                "https://hooks.onprem.example/", "https://HOOKS.onprem.example./", "https://[fd00::1]/"):
        assert url_refusal(url, policy) is None, url
    for url in ("https://127.0.0.2/", "https://localhost/", "https://10.2.0.1/", "https://169.254.169.254/", "https://[fd00::2]/", "https://[::1]/"):
        assert url_refusal(url, policy) == NOT_PUBLIC, url
    assert url_refusal("http://127.0.0.1/", policy) == MUST_BE_HTTPS  # an exception does not allow http
    assert TargetPolicy.of(exceptions=["localhost"]).trusts_host("LOCALHOST.")


@pytest.mark.parametrize("entry, parsed", [
    ("127.0.0.1", ip_network("127.0.0.1/32")),
    ("0x7f.1", ip_network("127.0.0.1/32")),
    ("10.1.0.0/16", ip_network("10.1.0.0/16")),
    ("10.1.2.3/16", ip_network("10.1.0.0/16")),
    ("[::1]", IPv6Network("::1/128")),
    ("fd00::/8", IPv6Network("fd00::/8")),
    ("Hooks.Example.", "hooks.example"),
    ("receiver.test", "receiver.test"),
])
def test_exception_entries(entry, parsed):
    assert parse_exception(entry) == parsed


@pytest.mark.parametrize("entry", ["", "two words", "http://x/", "10.0.0.0/33", "-bad.example", "a/b"])
def test_unreadable_exception_entries_are_refused(entry):
    with pytest.raises(ValueError):
        parse_exception(entry)


def test_the_settings_default_to_https_and_no_exceptions_and_read_the_shared_environment(monkeypatch):
    assert not ServiceSettings().webhook_allow_http and ServiceSettings().webhook_allowed_private_targets == []
    monkeypatch.setenv("MINKA_WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("MINKA_WEBHOOK_ALLOWED_PRIVATE_TARGETS", "127.0.0.1, hooks.lan,10.0.0.0/8")
    settings = ServiceSettings()
    assert settings.webhook_allow_http
    assert settings.webhook_allowed_private_targets == ["127.0.0.1", "hooks.lan", "10.0.0.0/8"]
    monkeypatch.setenv("MINKA_WEBHOOK_ALLOWED_PRIVATE_TARGETS", '["hooks.lan"]')
    assert ServiceSettings().webhook_allowed_private_targets == ["hooks.lan"]
    monkeypatch.setenv("MINKA_WEBHOOK_ALLOWED_PRIVATE_TARGETS", "hooks.lan, not a host")
    with pytest.raises(ValueError, match="not a host"):
        ServiceSettings()


class Dns:
    """A stub resolver: a name's addresses, and how often each name was looked up."""

    def __init__(self, records: dict[str, list[str]]) -> None:
        self.records, self.lookups = records, []

    async def __call__(self, host: str, port: int) -> list:
        self.lookups.append(host)
        if host not in self.records:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ip_address(address) for address in self.records[host]]


async def test_every_resolved_address_must_be_allowed():
    dns = Dns({"public.example": [PUBLIC_V4, PUBLIC_V6], "mixed.example": [PUBLIC_V4, "10.0.0.5"],
               "mapped.example": ["::ffff:127.0.0.1"], "empty.example": []})
    assert await checked_addresses("public.example", 443, STRICT, dns) == [ip_address(PUBLIC_V4),
                                                                          ip_address(PUBLIC_V6)]
    for host in ("mixed.example", "mapped.example"):
        with pytest.raises(TargetRefused) as refused:
            await checked_addresses(host, 443, STRICT, dns)
        assert refused.value.reason == ADDRESS_NOT_ALLOWED and host in str(refused.value)
    with pytest.raises(OSError):
        await checked_addresses("missing.example", 443, STRICT, dns)
    with pytest.raises(OSError):
        await checked_addresses("empty.example", 443, STRICT, dns)
    with pytest.raises(TargetRefused):
        await checked_addresses("localhost", 443, STRICT, Dns({"localhost": [PUBLIC_V4]}))  # whatever DNS says
    assert dns.lookups.count("public.example") == 1


async def test_an_excepted_host_may_resolve_anywhere_and_an_excepted_network_covers_its_addresses():
    dns = Dns({"hooks.lan": ["10.0.0.5"], "other.lan": ["10.0.0.6"], "partly.lan": ["10.9.0.1", "10.0.0.7"],
               "x.hooks.lan": ["10.0.0.8"], "in.lan": ["10.9.3.4"]})
    policy = TargetPolicy.of(exceptions=["hooks.lan", "10.9.0.0/16"])
    assert await checked_addresses("hooks.lan", 443, policy, dns) == [ip_address("10.0.0.5")]
    assert await checked_addresses("in.lan", 443, policy, dns) == [ip_address("10.9.3.4")]
    for host in ("other.lan", "partly.lan", "x.hooks.lan"):
        with pytest.raises(TargetRefused):
            await checked_addresses(host, 443, policy, dns)


async def test_registration_checks_the_url_then_what_the_host_resolves_to_now():
    dns = Dns({"public.example": [PUBLIC_V4], "internal.example": ["169.254.169.254"]})
    assert await registration_refusal("https://public.example/hook", STRICT, dns, 5) is None
    assert await registration_refusal("https://internal.example/hook", STRICT, dns, 5) == NOT_PUBLIC
    assert await registration_refusal("https://missing.example/hook", STRICT, dns, 5) == DOES_NOT_RESOLVE
    assert await registration_refusal("http://public.example/hook", STRICT, dns, 5) == MUST_BE_HTTPS
    lookups = len(dns.lookups)
    assert await registration_refusal("https://2130706433/", STRICT, dns, 5) == NOT_PUBLIC
    trusted = TargetPolicy.of(exceptions=["receiver.test"])
    assert await registration_refusal("https://receiver.test/hook", trusted, dns, 5) is None
    assert len(dns.lookups) == lookups  # refused from the literal; a trusted name is not looked up


async def test_a_resolver_that_hangs_is_a_name_that_does_not_resolve():
    async def hanging(host: str, port: int) -> list:
        await asyncio.Event().wait()
        return []

    assert await registration_refusal("https://slow.example/", STRICT, hanging, 0.05) == DOES_NOT_RESOLVE


def test_a_delivery_is_refused_before_connecting_when_the_url_rules_no_longer_allow_it():
    assert delivery_refusal("https://example.com/hook", STRICT) is None
    assert delivery_refusal("http://example.com/hook", STRICT).reason == HTTPS_REQUIRED
    assert delivery_refusal("https://0x7f.1/hook", STRICT).reason == ADDRESS_NOT_ALLOWED
    assert delivery_refusal("http://example.com/hook", TargetPolicy(allow_http=True)) is None
