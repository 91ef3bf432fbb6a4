"""SERVER mode in Chromium: sign in, chat, sign out; Back shows no chat."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from calango.extensions import db
from calango.models import Provider, Setting
from calango.services.network_policy import ALLOW_LOCAL_KEY
from tests.accounts_helpers import PASSWORD
from tests.auth.conftest import USER_EMAIL
from tests.helpers import FAKE_MODEL, PRICES, add_provider, finish

pytestmark = pytest.mark.browser

SECRET_QUESTION = "What is the secret recipe of pão de queijo"


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def provider(app: Flask, fake: Any) -> Provider:
    with app.app_context():
        Setting.put(ALLOW_LOCAL_KEY, True)  # the fake provider listens on 127.0.0.1
        db.session.commit()
    return add_provider(
        app,
        "sk-fake-key-0001",
        name="Fake",
        kind="openai",
        base_url=fake.openai_base_url,
        models=[FAKE_MODEL],
        price_overrides=PRICES,
    )


def test_back_after_logout_shows_no_chat(
    app: Flask, live_server: Any, provider: Provider, user: Any, fake: Any, page: Page
) -> None:
    fake.script(chunks=["Cheese ", "and ", "love."])
    chat_pages: list[str] = []
    page.on(
        "response",
        lambda r: (
            chat_pages.append(r.headers.get("cache-control", ""))
            if "/chats/" in r.url and r.request.resource_type == "document"
            else None
        ),
    )
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/login?next=/")
    page.fill('input[name="email"]', USER_EMAIL)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"], input[type="submit"]')
    # The click does not wait for the chat page's deferred scripts (the vendored Markdown
    # ones are large): an Enter pressed before chat.js runs adds a line, as without
    # JavaScript, and nothing is sent. The placeholder says "Enter sends" once it runs.
    expect(page.locator("#content")).to_have_attribute("placeholder", re.compile("Enter sends"))
    page.fill("#content", SECRET_QUESTION)
    page.press("#content", "Enter")
    expect(page.locator(".msg-assistant .md").last).to_contain_text("love.", timeout=10000)
    finish(app)
    page.reload()  # the chat's own address, as Back would show it
    expect(page.locator(".msg-assistant .md").last).to_contain_text("love.")
    assert chat_pages and all(value == "no-store" for value in chat_pages)
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.locator('input[name="password"]')).to_be_visible()
    page.go_back()
    page.wait_for_load_state()
    assert SECRET_QUESTION not in page.content()
    assert "love." not in page.content()
    expect(page.locator('input[name="password"]')).to_be_visible()
