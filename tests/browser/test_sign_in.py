"""Signing in as a cooperative manager: the token lives in sessionStorage only, and other roles are refused."""

from __future__ import annotations

from playwright.async_api import Page, expect

JWT_PREFIX = "eyJ"
STORED_TOKENS = f"""() => [sessionStorage, localStorage].map(store =>
    Object.keys(store).filter(key => (store.getItem(key) || '').includes('{JWT_PREFIX}')).length)"""


async def test_a_manager_signs_in_and_out(page: Page, seeded, ui) -> None:
    await page.goto("/app/")
    await expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    await ui.screenshot(page, "sign-in")

    await ui.sign_in(page)

    await expect(page.get_by_text(seeded.cooperative["name"]).first).to_be_visible()
    in_session, in_local = await page.evaluate(STORED_TOKENS)
    assert in_session == 1 and in_local == 0, "the token is kept in sessionStorage only"

    await page.get_by_role("button", name="Sign out", exact=True).click()
    await expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    assert await page.evaluate(STORED_TOKENS) == [0, 0], "signing out drops the token"


async def test_signing_in_works_with_the_keyboard_alone(page: Page, ui) -> None:
    email, password = ui.manager
    await page.goto("/app/#/signin")
    await page.get_by_label("Email", exact=True).focus()
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()


async def test_a_wrong_password_is_announced(page: Page, ui) -> None:
    email, _ = ui.manager
    await page.goto("/app/#/signin")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill("not-the-password")
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)


async def test_a_user_of_another_role_stays_signed_out(page: Page, seeded, ui) -> None:
    email, password = "buyer@andes.example", "comprador-2024"
    response = await seeded.api.post("/registry/v1/users", headers=seeded.admin, json={
        "email": email, "password": password, "role": "buyer", "organization_id": seeded.buyer["id"]})
    assert response.status_code == 201, response.text
    await page.goto("/app/#/signin")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)
    assert await page.evaluate(STORED_TOKENS) == [0, 0]


async def test_pages_need_a_signed_in_manager(page: Page) -> None:
    await page.goto("/app/#/lots")
    await expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
