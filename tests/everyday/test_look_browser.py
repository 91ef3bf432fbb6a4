"""Look: "follow the system" switches with the system's light/dark setting (CSS only), and
icons are drawn from the sprite (no emoji glyphs)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page

from calango.extensions import db
from calango.services import preferences

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    return "sqlite"


def _background(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


def test_follow_the_system_is_light_or_dark_as_the_system_says(
    app: Flask, live_server: Any, page: Page
) -> None:
    with app.app_context():
        preferences.put_setting(preferences.THEME_KEY, "system")
        db.session.commit()
    page.emulate_media(color_scheme="light")
    page.goto(live_server.url + "/settings/")
    assert _background(page) == "rgb(246, 248, 246)"  # Claro's --bg
    assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == "light"
    page.emulate_media(color_scheme="dark")
    assert _background(page) == "rgb(15, 26, 20)"  # Calango's --bg, without a reload
    assert page.locator('input[value="system"]').is_checked()
