"""Certification: the current certificate and the improvement plan as a chart."""

from __future__ import annotations

from playwright.async_api import Page, expect


async def test_the_certificate_and_the_improvement_plan_are_shown(manager_page: Page, seeded, ui) -> None:
    page, certification = manager_page, seeded.certification
    await ui.go(page, "Certification")
    await expect(page.get_by_role("heading", name="Certification", exact=True)).to_be_visible()
    await expect(page.get_by_text(certification["certificate_number"]).first).to_be_visible()
    chart = page.get_by_label("Improvement plan", exact=True)
    await expect(chart).to_be_visible()
    await ui.screenshot(page, "certification")


async def test_a_manager_records_an_internal_inspection_of_a_member(manager_page: Page, seeded, ui) -> None:
    """The form's texts are the client's own (the spec names none): Member, Note, Record inspection."""
    page, member = manager_page, seeded.members[1]
    await ui.go(page, "Certification")
    await ui.select_containing(page.get_by_label("Member", exact=True), member["full_name"])
    await page.get_by_label("Note", exact=True).fill("Retorta en uso; sin mercurio a la vista.")
    await page.get_by_role("button", name="Record inspection", exact=True).click()

    path = f"/certification/v1/certifications/{seeded.certification['id']}/inspections"

    async def recorded() -> list[dict]:
        return [inspection for inspection in await seeded.get(path) if inspection["member_id"] == member["id"]]

    [inspection] = await ui.eventually(recorded)
    assert inspection["note"] == "Retorta en uso; sin mercurio a la vista." and inspection["sanction"] is None
