"""Keyboard and copy in Chromium: copy buttons reached with Tab, Esc stops an answer, Enter
while one is written queues nothing and says so, the composer grows, shortcuts."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from calango.models import Provider
from tests.helpers import finish, messages_of, only_chat

pytestmark = pytest.mark.browser

CODE_REPLY = "Try this:\n\n```python\nprint('hi')\n```\n\nand https://example.com/x"


@pytest.fixture
def backend() -> str:
    # The browser tests exercise the page; the database matrix is covered elsewhere.
    return "sqlite"


def _ask(page: Page, text: str) -> None:
    page.fill("#content", text)
    page.press("#content", "Enter")


def _clipboard(page: Page) -> str:
    return str(page.evaluate("navigator.clipboard.readText()"))


def test_copy_buttons_are_reached_by_keyboard_and_copy(
    app: Flask, live_server: Any, twins: dict[str, Provider], fake: Any, page: Page
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    fake.script(reply=CODE_REPLY)
    page.goto(live_server.url + "/")
    expect(page.locator("#content")).to_be_focused()  # focused on load
    _ask(page, "show code")
    answer = page.locator(".msg-assistant").last
    expect(answer.locator(".msg-meta")).to_be_visible(timeout=10000)
    finish(app)

    # The code block: its language, and a Copy button reached with Tab from the link above.
    expect(answer.locator(".code-lang")).to_have_text("python")
    code_copy = answer.locator(".code-copy")
    expect(code_copy).to_be_visible()
    answer.locator(".code-lang").click()  # start the tab order inside the answer
    for _ in range(10):
        page.keyboard.press("Tab")
        if code_copy.evaluate("b => b === document.activeElement"):
            break
    expect(code_copy).to_be_focused()
    page.keyboard.press("Enter")
    expect(code_copy).to_have_text("Copied")
    assert _clipboard(page) == "print('hi')\n"

    # The whole message: its button is visible without hovering and Tab reaches it.
    message_copy = answer.locator(".copy-btn")
    page.mouse.move(0, 0)
    expect(message_copy).to_be_visible()
    for _ in range(10):
        page.keyboard.press("Tab")
        if message_copy.evaluate("b => b === document.activeElement"):
            break
    expect(message_copy).to_be_focused()
    page.keyboard.press("Enter")
    expect(message_copy).to_have_text("Copied")
    assert _clipboard(page) == CODE_REPLY

    # Links in answers open in a new tab, without access to this one.
    link = answer.locator(".md a", has_text="https://example.com/x")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")


def test_esc_stops_the_answer_and_enter_meanwhile_queues_nothing(
    app: Flask, live_server: Any, twins: dict[str, Provider], fake: Any, page: Page
) -> None:
    fake.script(chunks=[f"n{i} " for i in range(300)], delay=0.05)
    page.goto(live_server.url + "/")
    _ask(page, "count")
    answer = page.locator(".msg-assistant").last
    expect(answer.locator(".btn-stop")).to_be_visible(timeout=5000)
    expect(answer.locator(".md")).to_contain_text("n3", timeout=5000)

    # Enter while it is written: nothing sent, and the page says so.
    _ask(page, "a second question")
    status = page.locator("#composer-status")
    expect(status).to_be_visible()
    expect(status).to_contain_text("nothing was sent or queued")
    expect(page.locator("#content")).to_have_value("a second question")  # kept

    page.keyboard.press("Escape")
    expect(answer.locator(".msg-notice")).to_contain_text("Stopped", timeout=5000)
    finish(app)
    saved = messages_of(app, only_chat(app).id)
    assert [m.role for m in saved] == ["user", "assistant"]  # the second was never queued
    assert saved[1].status == "stopped" and "n299" not in saved[1].content
    assert len(fake.requests) == 1


def test_the_composer_grows_up_to_half_the_screen(
    live_server: Any, twins: dict[str, Provider], page: Page
) -> None:
    page.set_viewport_size({"width": 1200, "height": 800})
    page.goto(live_server.url + "/")
    box = page.locator("#content")
    start = box.bounding_box()["height"]
    box.fill("one\ntwo\nthree\nfour\nfive\nsix\nseven")
    box.dispatch_event("input")
    grown = box.bounding_box()["height"]
    assert grown > start + 40
    box.fill("\n".join(f"line {i}" for i in range(200)))
    box.dispatch_event("input")
    assert box.bounding_box()["height"] <= 400 + 1  # half of 800
    box.fill("")
    box.dispatch_event("input")
    assert box.bounding_box()["height"] <= start + 1


def test_shortcuts_help_search_and_new_chat(
    app: Flask, live_server: Any, twins: dict[str, Provider], fake: Any, page: Page
) -> None:
    page.goto(live_server.url + "/")
    _ask(page, "first chat")
    expect(page.locator(".msg-assistant .msg-meta")).to_be_visible(timeout=10000)
    finish(app)
    chat_url = page.url

    page.locator(".chat-head h1").click()  # not typing: "?" opens the help
    page.keyboard.press("?")
    dialog = page.locator("#shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("New chat")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("Control+k")
    expect(page.locator("#sidebar-q")).to_be_focused()
    page.keyboard.press("Shift+Escape")
    expect(page.locator("#content")).to_be_focused()
    page.keyboard.press("Control+Shift+O")
    page.wait_for_url(live_server.url + "/chats/")
    assert page.url != chat_url
    expect(page.locator(".chat-head h1")).to_have_text("New chat")
