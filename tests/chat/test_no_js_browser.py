"""Sending without JavaScript (#13 item 11): the POST redirects at once to the chat, whose
answer shows progress and refreshes itself until it is done, with Stop as a plain form."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from calango.models import Provider
from tests.helpers import finish, messages_of, only_chat

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_without_javascript_the_answer_page_shows_progress_until_done(
    app: Flask, live_server: Any, provider: Provider, fake: Any, browser: Browser
) -> None:
    fake.script(chunks=[f"passo{i} " for i in range(12)], delay=0.4)  # ~5 s
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    placeholder = page.locator("#content").get_attribute("placeholder") or ""
    assert "Enter" not in placeholder  # Enter adds a line here: the hint would be false
    page.fill("#content", "sem script")
    page.click("#send")
    # At once on the chat's page: the question, the answer being written, Stop.
    assert "/chats/" in page.url
    answer = page.locator(".msg-assistant").last
    expect(page.locator(".msg-user").last).to_contain_text("sem script")
    expect(answer).to_contain_text("Writing…")
    expect(answer.get_by_role("button", name="Stop")).to_be_visible()
    # The page refreshes itself until the answer is done.
    expect(answer.locator(".msg-meta")).to_contain_text("Fake / fake-model", timeout=20000)
    expect(answer.locator(".md")).to_contain_text("passo11")
    finish(app)
    context.close()


def test_without_javascript_stop_ends_the_answer(
    app: Flask, live_server: Any, provider: Provider, fake: Any, browser: Browser
) -> None:
    fake.script(chunks=[f"n{i} " for i in range(400)], delay=0.05)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.fill("#content", "long")
    page.click("#send")
    page.locator(".msg-assistant").last.get_by_role("button", name="Stop").click()
    expect(page.locator(".msg-assistant").last.locator(".msg-notice")).to_contain_text(
        "Stopped", timeout=10000
    )
    finish(app)
    assert messages_of(app, only_chat(app).id)[1].status == "stopped"
    context.close()
