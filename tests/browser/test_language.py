"""Four languages: chosen from the browser, switchable with the Language select, remembered; all text in
the message files."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

LANGUAGES = ("en", "es", "fr", "pt")


@pytest.mark.parametrize(("locale", "language"), [("es-ES", "es"), ("pt-BR", "pt"), ("fr-FR", "fr"), ("de-DE", "en")])
async def test_the_language_follows_the_browser(new_context, ui, locale: str, language: str) -> None:
    page = await (await new_context(locale=locale)).new_page()
    await page.goto("/app/")
    await expect_sign_in_page_in(page, ui, language)


async def test_the_language_select_switches_and_is_remembered(new_context, ui) -> None:
    page = await (await new_context(locale="es-ES")).new_page()
    await page.goto("/app/")
    await expect_sign_in_page_in(page, ui, "es")
    await ui.screenshot(page, "sign-in-es")

    language = page.get_by_label(ui.translation("es", "Language"), exact=True)
    french = language.locator("option[value^='fr']")
    await language.select_option(await french.get_attribute("value"))
    await expect_sign_in_page_in(page, ui, "fr")

    await page.reload()
    await expect_sign_in_page_in(page, ui, "fr")


async def test_a_signed_in_manager_switches_language(manager_page: Page, ui) -> None:
    page = manager_page
    language = page.get_by_label("Language", exact=True)
    await language.select_option(await language.locator("option[value^='pt']").get_attribute("value"))
    await expect(page.locator("html")).to_have_attribute("lang", "pt")
    await expect(page.get_by_role("button", name=ui.translation("pt", "Sign out"), exact=True)).to_be_visible()
    await expect(page.get_by_role("link", name=ui.translation("pt", "Lots"), exact=True)).to_be_visible()


async def expect_sign_in_page_in(page: Page, ui, language: str) -> None:
    await expect(page.locator("html")).to_have_attribute("lang", language)
    for english in ("Email", "Password"):
        await expect(page.get_by_label(ui.translation(language, english), exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name=ui.translation(language, "Sign in"), exact=True)).to_be_visible()
    await expect(page.get_by_label(ui.translation(language, "Language"), exact=True)).to_be_visible()


def test_every_language_has_every_message(ui) -> None:
    english = ui.messages("en")
    for language in LANGUAGES:
        texts = ui.messages(language)
        assert set(texts) == set(english), f"{language}.json: missing {set(english) - set(texts)}, " \
                                           f"extra {set(texts) - set(english)}"
        assert all(isinstance(text, str) and text.strip() for text in texts.values()), f"{language}.json: empty text"
    for language in ("es", "fr", "pt"):
        assert ui.translation(language, "Sign in") != "Sign in", f"{language}.json is not translated"
