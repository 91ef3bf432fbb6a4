"""The chat page in Chromium: streaming, Stop, reload mid-stream, copy, inert XSS."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from calango.models import Provider
from tests.helpers import finish, messages_of, only_chat, wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    # The browser tests exercise the page; the database matrix is covered elsewhere.
    return "sqlite"


def _ask(page: Page, text: str) -> None:
    page.fill("#content", text)
    page.press("#content", "Enter")


def test_answer_streams_in_token_by_token(
    app: Flask, live_server: Any, provider: Provider, fake: Any, page: Page
) -> None:
    words = [f"palavra{i} " for i in range(30)]
    fake.script(chunks=words, delay=0.08)
    page.goto(live_server.url + "/")
    _ask(page, "Conte devagar")
    answer = page.locator(".msg-assistant").last
    # Part of the answer is visible while the rest is still being written.
    expect(answer.locator(".stream-text")).to_contain_text("palavra3", timeout=5000)
    partial = answer.locator(".stream-text").inner_text()
    assert "palavra29" not in partial
    expect(answer.locator(".md")).to_contain_text("palavra29", timeout=10000)
    expect(answer.locator(".msg-meta")).to_contain_text("Fake / fake-model")
    expect(page.locator("#content")).to_have_value("")
    assert page.url.startswith(live_server.url + "/chats/")  # the new chat has its address
    expect(page.locator(".chat-list")).to_contain_text("Conte devagar")
    finish(app)


def test_stop_keeps_the_partial_answer(
    app: Flask, live_server: Any, provider: Provider, fake: Any, page: Page
) -> None:
    fake.script(chunks=[f"n{i} " for i in range(300)], delay=0.05)
    page.goto(live_server.url + "/")
    _ask(page, "count")
    answer = page.locator(".msg-assistant").last
    expect(answer.locator(".stream-text")).to_contain_text("n5", timeout=5000)
    answer.get_by_role("button", name="Stop").click()
    expect(answer.locator(".msg-notice")).to_contain_text("Stopped", timeout=5000)
    finish(app)
    saved = messages_of(app, only_chat(app).id)[1]
    assert saved.status == "stopped"
    assert "n5" in saved.content and "n299" not in saved.content
    expect(page.locator("#send")).to_be_enabled()


def test_reload_mid_stream_shows_it_continuing(
    app: Flask, live_server: Any, provider: Provider, fake: Any, page: Page
) -> None:
    fake.script(chunks=[f"r{i} " for i in range(40)], delay=0.1)
    page.goto(live_server.url + "/")
    _ask(page, "reload me")
    expect(page.locator(".msg-assistant .stream-text")).to_contain_text("r3", timeout=5000)
    page.reload()
    answer = page.locator(".msg-assistant").last
    expect(answer.locator(".md")).to_contain_text("r39", timeout=15000)
    # Nothing twice: the text after the reload continues exactly where the saved part ended.
    assert answer.locator(".md").inner_text().count("r3 ") == 1
    finish(app)


def test_copy_button_copies_the_raw_answer(
    app: Flask, live_server: Any, provider: Provider, fake: Any, page: Page
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    fake.script(reply="**bold** and `code`")
    page.goto(live_server.url + "/")
    _ask(page, "markdown please")
    answer = page.locator(".msg-assistant").last
    expect(answer.locator(".md strong")).to_have_text("bold", timeout=5000)
    answer.hover()
    answer.get_by_role("button", name="Copy").click()
    expect(answer.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "**bold** and `code`"
    finish(app)


def test_xss_reply_stays_inert(
    app: Flask, live_server: Any, provider: Provider, fake: Any, page: Page
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    fake.script(
        reply="<img src=x onerror=alert(1)> [x](javascript:alert(1)) <script>alert(2)</script>"
    )
    page.goto(live_server.url + "/")
    _ask(page, "<img src=y onerror=alert(3)>")
    answer = page.locator(".msg-assistant").last
    expect(answer.locator(".md")).to_contain_text("onerror=alert(1)", timeout=5000)
    page.reload()
    expect(page.locator(".msg-assistant .md")).to_contain_text("onerror=alert(1)")
    for link in page.locator(".msg a").all():
        assert not (link.get_attribute("href") or "").startswith("javascript:")
    assert page.locator(".msg img").count() == 0
    page.locator(".msg-assistant .md").click()
    assert dialogs == []
    finish(app)


def test_enter_sends_and_shift_enter_adds_a_line(
    app: Flask, live_server: Any, provider: Provider, fake: Any, page: Page
) -> None:
    fake.script(reply="ok")
    page.goto(live_server.url + "/")
    page.fill("#content", "line one")
    page.press("#content", "Shift+Enter")
    page.type("#content", "line two")
    expect(page.locator("#content")).to_have_value("line one\nline two")
    page.press("#content", "Enter")
    expect(page.locator(".msg-assistant .md")).to_have_text("ok", timeout=5000)
    wait_until(lambda: messages_of(app, only_chat(app).id)[0].content == "line one\nline two")
    finish(app)


def test_empty_message_shows_the_error_without_losing_anything(
    app: Flask, live_server: Any, provider: Provider, page: Page
) -> None:
    page.goto(live_server.url + "/")
    page.fill("#content", "   ")
    page.click("#send")
    expect(page.locator("#composer-error")).to_contain_text("Type a message before sending.")
    expect(page.locator("#content")).to_have_value("   ")
