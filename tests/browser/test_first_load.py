"""The first load on a slow link: every byte the gateway sends a fresh browser until the sign-in page is up
(and the service worker has cached the shell), counted on the wire by a proxy in front of the gateway."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from playwright.async_api import expect

BUDGET_BYTES = 150 * 1024
SERVICE_WORKER_READY = """() => 'serviceWorker' in navigator
    ? Promise.race([navigator.serviceWorker.ready.then(() => true), new Promise(r => setTimeout(() => r(false), 5000))])
    : false"""
RESOURCES = """() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
    .map(e => ({name: e.name, transfer: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize}))"""


class CountingProxy:
    """A TCP proxy that counts the bytes the upstream sends back (headers and compressed bodies)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.received = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> CountingProxy:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _connection(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        await asyncio.gather(self._pipe(client_reader, upstream_writer, count=False),
                             self._pipe(upstream_reader, client_writer, count=True), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: bool) -> None:
        try:
            while data := await reader.read(65536):
                if count:
                    self.received += len(data)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


async def test_the_first_load_is_small(browser, seeded, ui) -> None:
    gateway = urlsplit(seeded.url)
    async with CountingProxy(gateway.hostname, gateway.port) as proxy:
        context = await browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
        try:
            page = await context.new_page()
            await page.goto(f"{proxy.url}/app/", wait_until="networkidle")
            await expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
            service_worker = await page.evaluate(SERVICE_WORKER_READY)
            await page.wait_for_load_state("networkidle")
            await asyncio.sleep(1)  # the service worker's own fetches, if still under way
            first_load = proxy.received
            resources = await page.evaluate(RESOURCES)

            email, password = ui.manager
            await page.get_by_label("Email", exact=True).fill(email)
            await page.get_by_label("Password", exact=True).fill(password)
            await page.get_by_role("button", name="Sign in", exact=True).click()
            await expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
            await page.wait_for_load_state("networkidle")
            signed_in = proxy.received
        finally:
            await context.close()

    decoded = sum(resource["decoded"] for resource in resources)
    page_transfer = sum(resource["transfer"] for resource in resources)
    report = {
        "first_load_bytes_on_the_wire": first_load,
        "first_load_bytes_transferred_for_the_page": page_transfer,
        "first_load_bytes_uncompressed_in_page": decoded,
        "service_worker_ready": service_worker,
        "through_sign_in_and_first_page_bytes_on_the_wire": signed_in,
        "resources": [{**resource, "name": urlsplit(resource["name"]).path} for resource in resources],
    }
    ui.artifacts.mkdir(parents=True, exist_ok=True)
    (ui.artifacts / "first-load.txt").write_text(
        f"First load of /app/ (sign-in page) in a fresh browser: {first_load} bytes on the wire "
        f"(headers and gzip bodies, service worker caching included); the page itself: {page_transfer} bytes "
        f"transferred, {decoded} bytes uncompressed.\n"
        f"Through sign-in and the first page: {signed_in} bytes on the wire.\n\n"
        + json.dumps(report, indent=2) + "\n")
    print(f"first load: {first_load} bytes on the wire ({page_transfer} for the page, {decoded} uncompressed)")
    assert first_load < BUDGET_BYTES, report
