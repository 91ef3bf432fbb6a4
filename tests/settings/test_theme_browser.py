"""In Chromium: choosing a theme in the settings form recolours every page, from the first paint."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

# --bg of the themes used below, as Chromium reports computed colours.
CALANGO_BG = "rgb(15, 26, 20)"
IPE_BG = "rgb(23, 17, 31)"
CLARO_BG = "rgb(246, 248, 246)"


def _body_background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def _choose_theme(page, label: str) -> None:
    page.get_by_text(label, exact=True).click()
    with page.expect_navigation():
        page.locator('form.appearance-form [type="submit"]').click()


def test_theme_switch_recolours_and_persists(page, live_server):
    page.goto(f"{live_server.url}/settings/")
    assert _body_background(page) == CALANGO_BG
    assert page.locator("html").get_attribute("data-theme") == "calango"

    _choose_theme(page, "Ipê (purple)")
    assert page.url.endswith("/settings/")  # post/redirect/get
    assert page.locator(".flash-success").inner_text() == "Saved"
    assert _body_background(page) == IPE_BG
    assert page.locator('input[name="theme"][value="ipe"]').is_checked()

    page.reload()
    assert _body_background(page) == IPE_BG
    page.goto(f"{live_server.url}/personas/")
    assert page.locator("html").get_attribute("data-theme") == "ipe"
    assert _body_background(page) == IPE_BG


def test_light_theme_and_keyboard_choice(page, live_server):
    page.goto(f"{live_server.url}/settings/")
    # The radios are visually hidden inside their cards but stay reachable by keyboard.
    page.locator('input[name="theme"][value="calango"]').focus()
    for _ in range(6):  # calango → ... → claro, the seventh card
        page.keyboard.press("ArrowRight")
    assert page.locator('input[name="theme"][value="claro"]').is_checked()
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits the form, as any radio does
    assert _body_background(page) == CLARO_BG
    color_scheme = page.evaluate("getComputedStyle(document.documentElement).colorScheme")
    assert color_scheme == "light"


def test_swatches_show_their_own_theme(page, live_server):
    page.goto(f"{live_server.url}/settings/")
    swatch = page.locator('.theme-swatch[data-theme="ipe"]')
    assert swatch.evaluate("el => getComputedStyle(el).backgroundColor") == IPE_BG
