"""The composer's estimate in Chromium: it follows the typing, and a chat's cap refuses a
send with a message (the typed text stays, nothing reaches the provider)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from calango.models import Provider
from tests.helpers import finish

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_the_estimate_follows_the_typing_and_the_cap_refuses(
    app: Flask, live_server: Any, provider: Provider, fake: Any, page: Page
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.url.endswith("/estimate") else None)
    page.goto(live_server.url + "/")
    page.select_option("#persona", label="Calango (Default)")
    estimate = page.locator("#composer-estimate")
    expect(estimate).to_be_visible()
    expect(estimate).to_contain_text("Input: ≈ $")
    before = estimate.inner_text()
    tokens = int(re.search(r"\(([\d,]+) tokens\)", before).group(1).replace(",", ""))
    # Typing 400 characters: 100 tokens more, asked for once the typing pauses.
    asked = len(requests)
    page.locator("#content").press_sequentially("x" * 40, delay=5)
    page.fill("#content", "x" * 400)
    expect(estimate).to_contain_text(f"({tokens + 100:,} tokens)")
    assert len(requests) - asked <= 3, "one request per pause, not per key"
    # A cap this message passes: the composer warns, and the send is refused.
    page.locator("#composer-options summary").click()
    page.fill("#spend_cap", "0.0001")
    warning = page.locator("#composer-estimate-warning")
    expect(warning).to_contain_text("Over the cap")
    expect(estimate).to_contain_text("Chat cap: $0.00 spent of $0.000100")
    page.click("#send")
    error = page.locator("#composer-error")
    expect(error).to_contain_text("Not sent: this message would pass the chat's spending cap")
    expect(page.locator("#content")).to_have_value("x" * 400)
    assert fake.requests == []
    # A higher cap: sent.
    page.fill("#spend_cap", "1")
    page.click("#send")
    expect(page.locator(".msg-assistant .md").last).to_be_visible(timeout=10000)
    expect(warning).to_be_hidden()
    finish(app)
    assert len(fake.requests) == 1
