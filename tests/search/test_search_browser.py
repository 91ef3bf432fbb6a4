"""In Chromium: search from the sidebar, open a result deep in a long chat, see it marked;
scrolling up in a long chat loads earlier messages without moving what is on screen."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.search.conftest import AddChat, message_ids

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    # The page is the same on both databases; search itself is tested on both.
    return "sqlite"


def test_search_from_the_sidebar_opens_the_message_marked(
    app: Flask, live_server: Any, add_chat: AddChat, page: Page
) -> None:
    texts = [f"filler line {i}" for i in range(150)]
    texts[12] = "where did the chinchilla go?"
    chat_id = add_chat("Long conversation", texts)
    target = message_ids(app, chat_id)[12]
    page.goto(live_server.url + "/chats/")
    page.fill("#sidebar-q", "chinchila chinchilla")  # a typo too: all words must appear
    page.press("#sidebar-q", "Enter")
    expect(page.locator("#no-results")).to_be_visible()
    page.fill("#sidebar-q", "CHINCHILLA")
    page.press("#sidebar-q", "Enter")
    hit = page.locator(".search-hit .hit-link").first
    expect(hit.locator("mark")).to_have_text("chinchilla")
    hit.click()
    message = page.locator(f"#m-{target}")
    expect(message).to_be_in_viewport()
    assert message.evaluate("el => el.matches(':target')")
    outline = message.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid"


def test_scrolling_up_loads_earlier_messages_in_place(
    app: Flask, live_server: Any, add_chat: AddChat, page: Page
) -> None:
    chat_id = add_chat("Long", [f"line {i}" for i in range(130)])
    ids = message_ids(app, chat_id)
    page.goto(f"{live_server.url}/chats/{chat_id}")
    expect(page.locator(".msg")).to_have_count(50)
    first_shown = page.locator(f"#m-{ids[80]}")
    page.locator("#main").evaluate("el => { el.scrollTop = 0; }")
    expect(page.locator(".msg")).to_have_count(100)
    # What was at the top is still on screen: the new messages went above it.
    expect(first_shown).to_be_in_viewport()
    page.locator("#main").evaluate("el => { el.scrollTop = 0; }")
    expect(page.locator(".msg")).to_have_count(130)
    expect(page.locator("#earlier-link")).to_have_count(0)
