"""The client webhooks are sent with, over real sockets: each connection goes to the address that was checked,
looked up once, with the host name kept for the Host header, TLS SNI and the certificate; refused addresses are not
connected to; redirects are not followed; proxies from the environment are not used."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
import trustme
from webhook_support import OTHER_PUBLIC_ADDRESS, PUBLIC_ADDRESS, Dns, LoopbackNetwork, Recorder, serving, trusting

from minka_common.events.webhook_targets import ADDRESS_NOT_ALLOWED, TargetPolicy, TargetRefused, system_resolver
from minka_common.events.webhook_transport import webhook_client

HOST = "hooks.example.test"
TIMEOUT = 60  # generous: these tests never wait for it


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def trusted(ca: trustme.CA) -> ssl.SSLContext:
    return trusting(ca)


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def tls_port(recorder: Recorder, ca: trustme.CA, tmp_path_factory) -> Iterator[int]:
    """A TLS receiver whose certificate names HOST only."""
    with serving(recorder.app, ca.issue_cert(HOST), tmp_path_factory.mktemp("tls")) as port:
        yield port


@pytest.fixture(scope="module")
def plain_port(recorder: Recorder) -> Iterator[int]:
    with serving(recorder.app) as port:
        yield port


def paths(recorder: Recorder) -> list[str]:
    return [received.path for received in recorder.received]


async def test_a_connection_goes_to_the_address_checked_and_keeps_the_host_name(recorder, tls_port, trusted):
    dns = Dns({HOST: [[PUBLIC_ADDRESS], ["127.0.0.1"]]})  # rebinds to loopback after the first lookup
    network = LoopbackNetwork(tls_port)
    async with webhook_client(TargetPolicy(), dns, TIMEOUT, network=network, verify=trusted) as client:
        response = await client.post(f"https://{HOST}:8443/pinned", content=b"{}")
    assert response.status_code == 204
    assert dns.lookups == [HOST]  # one lookup: the connection used the answer that was checked
    assert network.connected == [(PUBLIC_ADDRESS, 8443)]
    assert recorder.received[-1].path == "/pinned" and recorder.received[-1].host == f"{HOST}:8443"

    async with webhook_client(TargetPolicy(), dns, TIMEOUT, network=network, verify=trusted) as client:
        with pytest.raises(TargetRefused) as refused:
            await client.post(f"https://{HOST}:8443/rebound", content=b"{}")
    assert refused.value.reason == ADDRESS_NOT_ALLOWED and "127.0.0.1" in str(refused.value)
    assert network.connected == [(PUBLIC_ADDRESS, 8443)] and "/rebound" not in paths(recorder)


async def test_one_internal_address_among_public_ones_refuses_the_connection(recorder, tls_port, trusted):
    dns = Dns({HOST: [PUBLIC_ADDRESS, "169.254.169.254"]})
    network = LoopbackNetwork(tls_port)
    async with webhook_client(TargetPolicy(), dns, TIMEOUT, network=network, verify=trusted) as client:
        with pytest.raises(TargetRefused):
            await client.post(f"https://{HOST}/mixed", content=b"{}")
    assert network.connected == [] and "/mixed" not in paths(recorder)


async def test_the_addresses_are_tried_in_order(recorder, tls_port, trusted):
    dns = Dns({HOST: [PUBLIC_ADDRESS, OTHER_PUBLIC_ADDRESS]})
    network = LoopbackNetwork(tls_port, down={PUBLIC_ADDRESS})
    async with webhook_client(TargetPolicy(), dns, TIMEOUT, network=network, verify=trusted) as client:
        assert (await client.post(f"https://{HOST}/second", content=b"{}")).status_code == 204
    assert network.connected == [(PUBLIC_ADDRESS, 443), (OTHER_PUBLIC_ADDRESS, 443)]


async def test_the_certificate_is_verified_against_the_host_name_not_the_address(recorder, tls_port, trusted):
    dns = Dns({"other.example.test": [PUBLIC_ADDRESS]})  # the receiver's certificate names HOST only
    async with webhook_client(TargetPolicy(), dns, TIMEOUT, network=LoopbackNetwork(tls_port),
                              verify=trusted) as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.post("https://other.example.test/wrong-name", content=b"{}")
    async with webhook_client(TargetPolicy(), Dns({HOST: [PUBLIC_ADDRESS]}), TIMEOUT,
                              network=LoopbackNetwork(tls_port)) as client:  # the system's CAs: ours is unknown
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.post(f"https://{HOST}/unknown-ca", content=b"{}")
    assert not {"/wrong-name", "/unknown-ca"} & set(paths(recorder))


async def test_redirects_are_not_followed(recorder, tls_port, trusted):
    dns = Dns({HOST: [PUBLIC_ADDRESS]})
    async with webhook_client(TargetPolicy(), dns, TIMEOUT, network=LoopbackNetwork(tls_port),
                              verify=trusted) as client:
        response = await client.post(f"https://{HOST}/redirect", params={"to": f"https://{HOST}/followed"},
                                     content=b"{}")
    assert response.status_code == 307 and "/followed" not in paths(recorder)


async def test_the_system_network_connects_to_an_excepted_address_and_never_to_another(recorder, plain_port,
                                                                                       monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")  # would send everything through a proxy
    monkeypatch.setenv("ALL_PROXY", "http://proxy.invalid:3128")
    url = f"http://127.0.0.1:{plain_port}"
    excepted = TargetPolicy.of(allow_http=True, exceptions=["127.0.0.1"])
    async with webhook_client(excepted, system_resolver, TIMEOUT) as client:
        assert (await client.post(f"{url}/excepted", content=b"{}")).status_code == 204
    assert recorder.received[-1].host == f"127.0.0.1:{plain_port}"
    async with webhook_client(TargetPolicy(allow_http=True), system_resolver, TIMEOUT) as client:
        for target in (url, f"http://localhost:{plain_port}", f"http://2130706433:{plain_port}",
                       f"http://0x7f.1:{plain_port}", f"http://[::ffff:127.0.0.1]:{plain_port}"):
            with pytest.raises(TargetRefused):
                await client.post(f"{target}/refused", content=b"{}")
    assert "/refused" not in paths(recorder)
