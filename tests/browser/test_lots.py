"""Lots: record one at a site, open it by its code, see its claims and history, dispatch it to a buyer."""

from __future__ import annotations

from decimal import Decimal

from playwright.async_api import Page, expect


async def record_lot(page: Page, seeded, ui, grams: str = "350") -> None:
    """Fills in and submits the lot form (the Lots page is open)."""
    await ui.select_containing(page.get_by_label("Site", exact=True), seeded.site["name"])
    await page.get_by_label("Mass", exact=True).fill(grams)
    await page.get_by_label("Unit", exact=True).select_option("g")
    await page.get_by_label("Produced on", exact=True).fill(ui.day(0))  # the certificate starts today
    await page.get_by_label("Mercury-free", exact=True).check()
    await page.get_by_role("button", name="Record lot", exact=True).click()


async def test_a_manager_records_a_lot_and_dispatches_it_to_a_buyer(manager_page: Page, seeded, ui) -> None:
    page = manager_page
    before = {lot["id"] for lot in await seeded.lots()}
    await ui.go(page, "Lots")
    await record_lot(page, seeded, ui, "350")

    async def new_lots() -> list[dict]:
        return [lot for lot in await seeded.lots() if lot["id"] not in before]

    [lot] = await ui.eventually(new_lots)
    assert Decimal(lot["mass_kg"]) == Decimal("0.35")
    assert lot["claims"]["mercury_free"] is True and lot["claims"]["certified"] is True
    assert lot["origin"]["site_id"] == seeded.site["id"]
    link = page.get_by_role("link", name=lot["code"])
    await expect(link).to_be_visible()
    await ui.screenshot(page, "lots")

    await link.click()
    await expect(page.get_by_role("heading", name="Claims", exact=True)).to_be_visible()
    await expect(page.get_by_role("heading", name="History", exact=True)).to_be_visible()
    await ui.screenshot(page, "lot-detail")

    await ui.select_containing(page.get_by_label("Buyer", exact=True), seeded.buyer["name"])
    await page.get_by_role("button", name="Dispatch", exact=True).click()

    async def transfers() -> list[dict]:
        items = (await seeded.get("/traceability/v1/transfers", limit=500))["items"]
        return [transfer for transfer in items if transfer["lot_id"] == lot["id"]]

    [transfer] = await ui.eventually(transfers)
    assert transfer["status"] == "in_transit"
    assert transfer["to_organization_id"] == seeded.buyer["id"]
    assert transfer["from_organization_id"] == seeded.cooperative["id"]
    events = await seeded.get(f"/traceability/v1/lots/{lot['id']}/events")
    assert [event["kind"] for event in events] == ["create", "dispatch"]
    assert all(event["idempotency_key"] for event in events), "every write carries an Idempotency-Key"
