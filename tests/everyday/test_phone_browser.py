"""The chat at phone size (390×844) in a dark and a light theme: the conversation gets at
least 70 % of the height, the header is one line, the chat list is a drawer, nothing
overflows sideways. Screenshots are saved under the test's tmp_path to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from calango.extensions import db
from calango.models import Provider
from calango.services import preferences
from tests.helpers import finish, send

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WIDE_REPLY = (
    "A table:\n\n| model | input | output | context | a rather long note column |\n"
    "|---|---|---|---|---|\n| some-model-name | $2.50 | $10.00 | 128k | "
    "words words words words words |\n\n```python\nprint('a fairly long line of code that "
    "cannot wrap at all because it is code')\n```\n"
)


@pytest.fixture
def backend() -> str:
    return "sqlite"


def _geometry(page: Page) -> dict[str, float]:
    return page.evaluate(
        """() => {
          const composer = document.getElementById('composer').getBoundingClientRect();
          const main = document.getElementById('main').getBoundingClientRect();
          const topbar = document.querySelector('.topbar').getBoundingClientRect();
          return {
            conversation: composer.top - main.top,
            height: window.innerHeight,
            topbar: topbar.height,
            scrollWidth: document.documentElement.scrollWidth,
            mainScrollWidth: document.getElementById('main').scrollWidth,
            mainWidth: document.getElementById('main').clientWidth,
            width: window.innerWidth,
          };
        }"""
    )


@pytest.mark.parametrize("theme", ["calango", "claro"])
def test_phone_layout_gives_the_conversation_most_of_the_screen(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    live_server: Any,
    twins: dict[str, Provider],
    fake: Any,
    page: Page,
    theme: str,
    tmp_path: Path,
) -> None:
    with app.app_context():
        preferences.put_setting(preferences.THEME_KEY, theme)
        db.session.commit()
    fake.script(reply=WIDE_REPLY)
    chat_id = send(client, csrf, "wide things", provider="LM Studio", model="fake-small")
    chat_id = chat_id.get_json()["chat_id"]
    finish(app)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/chats/{chat_id}")
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    page.screenshot(path=str(tmp_path / f"phone-{theme}.png"))

    g = _geometry(page)
    assert g["conversation"] / g["height"] >= 0.70, g
    assert g["topbar"] <= 56, g  # one line
    assert g["scrollWidth"] <= g["width"], g  # no sideways scrolling of the page
    assert g["mainScrollWidth"] <= g["mainWidth"], g  # the wide table scrolls in its wrapper
    table_wrap = page.locator(".table-wrap")
    assert table_wrap.evaluate("w => w.scrollWidth > w.clientWidth")  # it does scroll

    # The chat list is a closed drawer; opening it shows the list.
    expect(page.locator("#sidebar-q")).to_be_hidden()
    page.locator("summary.drawer-toggle").click()
    expect(page.locator(".chat-list .chat-item.current")).to_be_visible()
    expect(page.locator("#sidebar-q")).to_be_visible()
    page.screenshot(path=str(tmp_path / f"phone-{theme}-drawer.png"))


def test_on_a_wide_screen_the_chat_list_is_always_shown(
    live_server: Any, twins: dict[str, Provider], page: Page
) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server.url + "/")
    expect(page.locator("summary.drawer-toggle")).to_be_hidden()
    expect(page.locator("#sidebar-q")).to_be_visible()
    sidebar = page.locator("#sidebar").bounding_box()
    assert sidebar["width"] >= 250 and sidebar["height"] >= 700
