"""The thin web client in real headless Chromium, against the running all-in-one system.

The gateway runs as a subprocess on a free port with databases of its own (PostgreSQL when
MINKA_TEST_DATABASE_URL names a server, else SQLite files); the tests drive Debian's ``chromium`` through
Playwright's async API and check the outcome through the public API with httpx. A cooperative with its
manager (a user with a password), a site next to a forest, three members and a certificate, and a buyer are
seeded through the API once per session. Screenshots at phone width go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from certification_support import BASE, FOREST_SMART, results_for
from playwright.async_api import Browser, BrowserContext, Locator, Page, Playwright, async_playwright, expect

from minka_certification.standards.service import EXAMPLE_FILES, EXAMPLES
from minka_common.testing import fresh_database_url
from minka_gateway.app import STATIC_ROOT

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
MESSAGES = STATIC_ROOT / "app" / "messages"
SERVICES = ("registry", "certification", "traceability")
ADMIN_CLIENT = ("browser-admin", "browser-admin-secret-0123456789")
MANAGER_EMAIL, MANAGER_PASSWORD = "manager@inambari.example", "oro-limpio-2024"
PHONE = {"width": 360, "height": 740}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
START_TIMEOUT_SECONDS = 60
# The site sits 2 km east of a forest square of the session's own forest layer, in Madre de Dios (Peru).
SITE_LON, SITE_LAT = -69.90, -12.60
FOREST_EDGE_LON = -69.92


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


# ------------------------------------------------------------------------------------------ the running system

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
async def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The all-in-one gateway (the three services and /app/) as a subprocess; stopped at the end."""
    run_dir = tmp_path_factory.mktemp("browser-system")
    environment = {
        **os.environ,
        "MINKA_DATA_DIR": str(run_dir / "data"),
        "MINKA_BOOTSTRAP_CLIENT_ID": ADMIN_CLIENT[0],
        "MINKA_BOOTSTRAP_CLIENT_SECRET": ADMIN_CLIENT[1],
    }
    for service in SERVICES:
        environment[f"MINKA_{service.upper()}_DATABASE_URL"] = await fresh_database_url(f"browser_{service}", run_dir)
    port = free_port()
    log_path = run_dir / "gateway.log"
    process = start_gateway(environment, port, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_ready(process, url, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_gateway(environment: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "minka_gateway.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port)],
            env=environment, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )


def log_tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-4000:]


async def wait_until_ready(process: subprocess.Popen, url: str, log_path: Path) -> None:
    paths = [f"/{service}/readyz" for service in SERVICES] + ["/app/"]
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        for _ in range(START_TIMEOUT_SECONDS * 5):
            if process.poll() is not None:
                raise RuntimeError(f"the gateway exited ({process.returncode}):\n{log_tail(log_path)}")
            try:
                statuses = [(await client.get(path)).status_code for path in paths]
                if all(status == 200 for status in statuses):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the gateway was not ready in {START_TIMEOUT_SECONDS} s:\n{log_tail(log_path)}")


# ------------------------------------------------------------------------------------------ seeded through the API

@dataclass
class Seeded:
    """What the session seeded, and API clients to check outcomes with."""

    url: str
    api: httpx.AsyncClient
    admin: dict[str, str]
    manager: dict[str, str]
    cooperative: dict
    buyer: dict
    site: dict
    members: list[dict] = field(default_factory=list)
    certification: dict | None = None

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.api.get(path, params=params, headers=self.manager)
        assert response.status_code == 200, response.text
        return response.json()

    async def members_of_cooperative(self) -> list[dict]:
        return (await self.get(f"/registry/v1/cooperatives/{self.cooperative['id']}/members", limit=500))["items"]

    async def lots(self) -> list[dict]:
        return (await self.get("/traceability/v1/lots", limit=500))["items"]


def created(response: httpx.Response, status: int = 201) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def forest_square(edge_lon: float, lat: float) -> dict:
    square = [[edge_lon - 0.05, lat - 0.03], [edge_lon, lat - 0.03], [edge_lon, lat + 0.03],
              [edge_lon - 0.05, lat + 0.03], [edge_lon - 0.05, lat - 0.03]]
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [square]}}]}


async def token(api: httpx.AsyncClient, data: dict[str, str], auth: tuple[str, str] | None = None) -> dict[str, str]:
    response = await api.post("/registry/v1/oauth/token", data=data, auth=auth)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="session")
async def seeded(gateway_url: str) -> AsyncIterator[Seeded]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as api:
        admin = await token(api, {"grant_type": "client_credentials"}, auth=ADMIN_CLIENT)
        created(await api.post("/registry/v1/forest-layers", params={"name": "Inambari forest"},
                               json=forest_square(FOREST_EDGE_LON, SITE_LAT), headers=admin))
        cooperative = created(await api.post("/registry/v1/organizations", headers=admin, json={
            "kind": "cooperative", "name": "Cooperativa Aurífera Inambari", "country": "PE"}))
        buyer = created(await api.post("/registry/v1/organizations", headers=admin, json={
            "kind": "buyer", "name": "Andes Gold Buyers", "country": "PE"}))
        created(await api.post("/registry/v1/users", headers=admin, json={
            "email": MANAGER_EMAIL, "password": MANAGER_PASSWORD, "role": "coop_manager",
            "organization_id": cooperative["id"]}))
        manager = await token(api, {"grant_type": "password", "username": MANAGER_EMAIL,
                                    "password": MANAGER_PASSWORD})
        site = created(await api.post("/registry/v1/sites", headers=manager, json={
            "cooperative_id": cooperative["id"], "name": "Playa Azul", "minerals": ["gold"], "method": "alluvial",
            "geometry": {"type": "Point", "coordinates": [SITE_LON, SITE_LAT]}}))
        seeded = Seeded(gateway_url, api, admin, manager, cooperative, buyer, site)
        joined_on = (date.today() - timedelta(days=400)).isoformat()
        for number, (name, gender) in enumerate([("Rosa Quispe Mamani", "female"), ("Juan Huamán Condori", "male"),
                                                 ("Elena Ccori Apaza", "female")]):
            seeded.members.append(created(await api.post("/registry/v1/miners", headers=manager, json={
                "full_name": name, "gender": gender, "birth_date": f"19{80 + number}-03-1{number}",
                "national_id": f"4{number}123456", "cooperative_id": cooperative["id"], "site_id": site["id"],
                "joined_on": joined_on})))
        seeded.certification = await certify(seeded)
        yield seeded


async def certify(seeded: Seeded) -> dict:
    """The cooperative certified with the example standards (everything met but the leading level), as the
    tests in tests/support/certification_support.py do it, so the certification page has a plan to draw."""
    api, admin = seeded.api, seeded.admin
    body = created(await api.post("/registry/v1/organizations", headers=admin, json={
        "kind": "certification_body", "name": "Certificadora Andina", "country": "PE"}))
    client = created(await api.post("/registry/v1/clients", headers=admin, json={
        "name": "browser certifier", "role": "certifier", "organization_id": body["id"]}))
    certifier = await token(api, {"grant_type": "client_credentials"},
                            auth=(client["client_id"], client["client_secret"]))
    opened = created(await api.post("/certification/v1/certifications", headers=certifier, json={
        "cooperative_id": seeded.cooperative["id"], "standard": BASE, "bolt_ons": [FOREST_SMART],
        "certification_body_id": body["id"]}))
    path = f"/certification/v1/certifications/{opened['id']}"
    audit = created(await api.post(f"{path}/audits", json={"kind": "initial"}, headers=certifier))
    documents = [json.loads((EXAMPLES / name).read_text()) for name in EXAMPLE_FILES]
    created(await api.post(f"/certification/v1/audits/{audit['id']}/results", headers=certifier,
                           json=results_for(documents, audit, [seeded.site])))
    created(await api.post(f"/certification/v1/audits/{audit['id']}/close", headers=certifier), 200)
    return created(await api.post(f"{path}/decision", json={"decision": "certify"}, headers=certifier), 200)


# ------------------------------------------------------------------------------------------ the browser

@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    chromium = await playwright.chromium.launch(
        executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS)
    yield chromium
    await chromium.close()


@pytest.fixture
async def new_context(browser: Browser, seeded: Seeded) -> AsyncIterator[Any]:
    """``await new_context(locale=…, **options)``: a fresh phone-sized browser context (closed after the test)."""
    contexts: list[BrowserContext] = []

    async def make(locale: str = "en-US", **options: Any) -> BrowserContext:
        context = await browser.new_context(viewport=PHONE, locale=locale, base_url=seeded.url, **options)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        await context.close()


@pytest.fixture
async def context(new_context) -> BrowserContext:
    return await new_context()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The browser's console, and when the app re-renders its view, go to the test's output (shown on failure).
    page.on("console", lambda message: print(f"console.{message.type}: {message.text}"))
    await page.add_init_script(TRACE_RENDERS)
    yield page
    assert not errors, f"uncaught errors in the page: {errors}"


TRACE_RENDERS = """new MutationObserver(records => records.forEach(r => r.target.id === 'view' && r.removedNodes.length
    && console.debug('view cleared at', location.hash, Math.round(performance.now()))))
  .observe(document, {childList: true, subtree: true});
window.addEventListener('hashchange', () => console.debug('hashchange', location.hash, Math.round(performance.now())));"""


async def sign_in(page: Page, email: str = MANAGER_EMAIL, password: str = MANAGER_PASSWORD) -> None:
    """Signs in through the sign-in page, and waits until the app shows its first page, Members."""
    await page.goto("/app/#/signin")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    await expect(page.get_by_role("heading", level=1, name="Members", exact=True)).to_be_visible()


@pytest.fixture
async def manager_page(page: Page) -> Page:
    """A page signed in as the cooperative's manager."""
    await sign_in(page)
    return page


async def screenshot(page: Page, name: str) -> Path:
    """Saves the whole page at phone width, after checking it reads there: no horizontal scrolling, and a label
    for every visible form control."""
    await expect_fits_phone(page)
    await expect_labelled_controls(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=path, full_page=True)
    return path


async def expect_fits_phone(page: Page) -> None:
    widths = await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways at {PHONE['width']} px: {widths}"


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(el => el.getClientRects().length > 0)
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                  && !el.getAttribute('aria-labelledby'))
    .map(el => el.outerHTML.slice(0, 120))"""


async def expect_labelled_controls(page: Page) -> None:
    unlabelled = await page.evaluate(UNLABELLED_CONTROLS)
    assert not unlabelled, f"form controls without a label: {unlabelled}"


async def select_containing(select: Locator, text: str) -> None:
    """Chooses the option of ``select`` whose text contains ``text`` (labels may add details to a name)."""
    option = select.locator("option").filter(has_text=text)
    await expect(option).to_have_count(1)
    await select.select_option(await option.get_attribute("value"))


def messages(language: str) -> dict[str, str]:
    """The client's message file for a language, flattened to dotted keys."""
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        else:
            flat[prefix] = value

    walk("", json.loads((MESSAGES / f"{language}.json").read_text(encoding="utf-8")))
    return flat


def translation(language: str, english: str) -> str:
    """The text of ``language`` for the message whose English text is ``english``."""
    keys = [key for key, text in messages("en").items() if text == english]
    assert keys, f"no message {english!r} in en.json"
    return messages(language)[keys[0]]


class Helpers:
    """The helpers the test modules share (they cannot import this conftest under --import-mode=importlib)."""

    sign_in = staticmethod(sign_in)
    screenshot = staticmethod(screenshot)
    select_containing = staticmethod(select_containing)
    messages = staticmethod(messages)
    translation = staticmethod(translation)
    expect_fits_phone = staticmethod(expect_fits_phone)
    manager = (MANAGER_EMAIL, MANAGER_PASSWORD)
    artifacts = ARTIFACTS

    @staticmethod
    def status(page: Page) -> Locator:
        """The status line: online/offline and the changes waiting to be sent (other live regions aside)."""
        return page.get_by_role("status").filter(has_text=re.compile(r"\b(Online|Offline)\b"))

    @staticmethod
    async def go(page: Page, link: str) -> None:
        """Follows a link of the navigation."""
        await page.get_by_role("link", name=link, exact=True).click()

    @staticmethod
    async def eventually(check: Callable[[], Awaitable[Any]], within: float = 10) -> Any:
        """The first truthy result of ``check()``, polled until ``within`` seconds have passed."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            result = await check()
            if result or asyncio.get_running_loop().time() > deadline:
                return result
            await asyncio.sleep(0.2)

    @staticmethod
    def day(days_ago: int = 0) -> str:
        """A date as the services count them (UTC)."""
        return (datetime.now(UTC).date() - timedelta(days=days_ago)).isoformat()


@pytest.fixture
def ui() -> type[Helpers]:
    return Helpers
