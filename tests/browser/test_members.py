"""Members: register one, import a CSV whose bad row is shown next to its error, record a member leaving."""

from __future__ import annotations

from datetime import date

from playwright.async_api import Page, expect


async def test_a_manager_registers_a_member(manager_page: Page, seeded, ui) -> None:
    page, name = manager_page, "Lucía Mamani Torres"
    await ui.go(page, "Members")
    await page.get_by_label("Full name", exact=True).fill(name)
    await page.get_by_label("Gender", exact=True).select_option("female")
    await page.get_by_label("Birth date", exact=True).fill("1992-07-21")
    await page.get_by_label("National ID", exact=True).fill("48800001")
    await page.get_by_role("button", name="Register member", exact=True).click()

    await expect(page.get_by_text(name).first).to_be_visible()

    async def registered_members() -> list[dict]:
        return [m for m in await seeded.members_of_cooperative() if m["full_name"] == name]

    registered = await ui.eventually(registered_members)
    assert len(registered) == 1
    assert registered[0]["gender"] == "female" and registered[0]["birth_date"] == "1992-07-21"
    assert registered[0]["national_id"] == "48800001"


async def test_members_are_listed_and_searched(manager_page: Page, seeded, ui) -> None:
    page = manager_page
    await ui.go(page, "Members")
    for member in seeded.members:
        await expect(page.get_by_text(member["full_name"]).first).to_be_visible()
    await page.get_by_label("Search members", exact=True).fill("huaman")  # accents and case ignored by the API
    await expect(page.get_by_text("Juan Huamán Condori").first).to_be_visible()
    await expect(page.get_by_text("Rosa Quispe Mamani")).to_have_count(0)


async def test_an_import_with_a_bad_row_shows_the_error_next_to_it_and_imports_nothing(
    manager_page: Page, seeded, ui
) -> None:
    page = manager_page
    child_birth_date = date.today().replace(year=date.today().year - 12, day=1).isoformat()
    csv = ("full_name,gender,birth_date,national_id\n"
           "Pedro Apaza Quispe,male,1985-02-14,49900001\n"
           f"Niño Menor Huanca,male,{child_birth_date},49900002\n"
           "Carmen Rojas Tito,female,1990-11-30,49900003\n")
    expected = await seeded.api.post(f"/registry/v1/miners/import?cooperative_id={seeded.cooperative['id']}",
                                      content=csv.encode(), headers={**seeded.manager, "Content-Type": "text/csv"})
    assert expected.status_code == 422, expected.text
    [error] = expected.json()["errors"]
    assert error["line"] == 3
    before = await seeded.members_of_cooperative()

    await ui.go(page, "Members")
    await page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "members.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    await page.get_by_role("button", name="Import", exact=True).click()

    preview = page.get_by_role("table", name="Import preview")
    await expect(preview).to_be_visible()
    bad_row = preview.locator('[data-line="3"]')
    await expect(bad_row).to_contain_text("Niño Menor Huanca")
    await expect(bad_row).to_contain_text(error["reason"])
    for good_line in ("2", "4"):
        await expect(preview.locator(f'[data-line="{good_line}"]')).not_to_contain_text(error["reason"])
    await expect(page.get_by_role("alert").first).to_be_visible()
    await preview.scroll_into_view_if_needed()
    await ui.screenshot(page, "members-import-preview")

    after = await seeded.members_of_cooperative()
    assert len(after) == len(before), "a file with a bad row imports nothing"


async def test_a_fixed_file_is_imported(manager_page: Page, seeded, ui) -> None:
    page = manager_page
    csv = ("full_name,gender,birth_date,national_id\n"
           "Pedro Apaza Quispe,male,1985-02-14,49900011\n"
           "Carmen Rojas Tito,female,1990-11-30,49900013\n")
    before = len(await seeded.members_of_cooperative())

    await ui.go(page, "Members")
    await page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "members.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    await page.get_by_role("button", name="Import", exact=True).click()

    async def imported() -> bool:
        return len(await seeded.members_of_cooperative()) == before + 2

    assert await ui.eventually(imported)
    await expect(page.get_by_text("Carmen Rojas Tito").first).to_be_visible()


async def test_a_manager_records_a_member_leaving(manager_page: Page, seeded, ui) -> None:
    page, name = manager_page, "Teófilo Cusi Layme"
    response = await seeded.api.post("/registry/v1/miners", headers=seeded.manager, json={
        "full_name": name, "gender": "male", "birth_date": "1979-04-02", "cooperative_id": seeded.cooperative["id"],
        "joined_on": ui.day(300)})
    assert response.status_code == 201, response.text
    miner = response.json()
    left_on = ui.day(2)

    await ui.go(page, "Members")
    row = page.locator("tr, li").filter(has_text=name).last
    await row.get_by_role("button", name="Record leaving", exact=True).click()
    await page.get_by_label("Left on", exact=True).fill(left_on)
    await page.get_by_role("button", name="Confirm", exact=True).click()

    async def left() -> str | None:
        return (await seeded.get(f"/registry/v1/miners/{miner['id']}/memberships"))[-1]["left_on"]

    assert await ui.eventually(left) == left_on
