"""Sites: register one with typed coordinates or the device's location; forest distance and drawing shown."""

from __future__ import annotations

from playwright.async_api import Page, expect


async def test_a_manager_registers_a_site_with_typed_coordinates(manager_page: Page, seeded, ui) -> None:
    page, name = manager_page, "Quebrada Honda"
    await ui.go(page, "Sites")
    await expect(page.get_by_text(seeded.site["name"]).first).to_be_visible()
    await page.get_by_label("Site name", exact=True).fill(name)
    await page.get_by_label("Latitude", exact=True).fill("-12.61")
    await page.get_by_label("Longitude", exact=True).fill("-69.89")
    await page.get_by_label("Method", exact=True).select_option("alluvial")
    await page.get_by_role("button", name="Register site", exact=True).click()

    await expect(page.get_by_text(name).first).to_be_visible()

    async def registered() -> list[dict]:
        sites = (await seeded.get("/registry/v1/sites", cooperative_id=seeded.cooperative["id"]))["items"]
        return [site for site in sites if site["name"] == name]

    [site] = await ui.eventually(registered)
    assert site["geometry"]["coordinates"] == [-69.89, -12.61]
    assert site["method"] == "alluvial" and site["forest_smart_applicable"] is True


async def test_a_site_shows_its_forest_distance_and_a_drawing(manager_page: Page, seeded, ui) -> None:
    page = manager_page
    await ui.go(page, "Sites")
    site = page.get_by_role("listitem").filter(has_text=seeded.site["name"])
    await expect(site.get_by_text("Forest distance")).to_be_visible()
    await expect(site.get_by_text("Forest-Smart applies")).to_be_visible()
    await site.get_by_role("button", name=seeded.site["name"]).click()  # the name opens the drawing
    await expect(site.locator("svg")).to_be_visible()
    await ui.screenshot(page, "sites")


async def test_the_device_location_fills_the_coordinates(new_context, ui) -> None:
    context = await new_context(geolocation={"latitude": -12.625, "longitude": -69.875}, permissions=["geolocation"])
    page = await context.new_page()
    await ui.sign_in(page)
    await ui.go(page, "Sites")
    await page.get_by_role("button", name="Use my location", exact=True).click()
    latitude, longitude = page.get_by_label("Latitude", exact=True), page.get_by_label("Longitude", exact=True)
    await expect(latitude).not_to_have_value("")
    assert abs(float(await latitude.input_value()) + 12.625) < 1e-6
    assert abs(float(await longitude.input_value()) + 69.875) < 1e-6
