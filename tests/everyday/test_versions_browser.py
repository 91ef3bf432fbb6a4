"""Versions in Chromium: regenerate, ‹ 2/3 ›, edit and resend — with the page's script and
without it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, expect

from calango.models import Provider
from tests.helpers import finish, messages_of, send

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    # The browser tests exercise the page; the database matrix is covered elsewhere.
    return "sqlite"


def _answers(page: Page) -> Any:
    return page.locator(".msg-assistant .md")


def test_regenerate_then_switch_versions_with_the_script(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    live_server: Any,
    provider: Provider,
    fake: Any,
    page: Page,
) -> None:
    fake.script(reply="The first answer.")
    chat_id = send(client, csrf, "Tell me something").get_json()["chat_id"]
    finish(app)
    page.goto(f"{live_server.url}/chats/{chat_id}")
    page.select_option("#model", label="other-model")
    fake.script(reply="The second answer, word by word.", delay=0.05)
    page.get_by_role("button", name="Regenerate").click()
    # The page comes back at once and follows the answer as it is written.
    expect(page.locator(".msg-assistant .typing")).to_have_count(1, timeout=5000)
    expect(_answers(page)).to_have_text(["The second answer, word by word."], timeout=10000)
    finish(app)
    page.reload()
    expect(page.locator(".msg-assistant .version-count")).to_have_text("2/2")
    expect(page.locator(".msg-assistant .msg-meta")).to_contain_text("other-model")
    page.get_by_role("button", name="Previous version").click()
    expect(_answers(page)).to_have_text(["The first answer."])
    expect(page.locator(".msg-assistant .version-count")).to_have_text("1/2")
    page.get_by_role("button", name="Next version").click()
    expect(_answers(page)).to_have_text(["The second answer, word by word."])
    # The switch is a plain form post: the new page's text shows before its scripts run, and
    # Enter typed before chat.js is ready only adds a line (seen under load in CI).
    page.wait_for_load_state("load")
    # Sending still works as a message (the script sends it, not a regenerate).
    fake.script(reply="Third.")
    page.fill("#content", "And then?")
    page.press("#content", "Enter")
    expect(_answers(page)).to_have_count(2, timeout=10000)
    finish(app)
    sent = [m["content"] for m in fake.requests[-1]["json"]["messages"] if m["role"] != "system"]
    assert sent == ["Tell me something", "The second answer, word by word.", "And then?"]


def test_edit_and_resend_with_the_script(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    live_server: Any,
    provider: Provider,
    fake: Any,
    page: Page,
) -> None:
    fake.script(reply="Lisbon.")
    chat_id = send(client, csrf, "Capital of Spain?").get_json()["chat_id"]
    finish(app)
    page.goto(f"{live_server.url}/chats/{chat_id}")
    page.locator(".msg-user").get_by_role("link", name="Edit").click()
    expect(page.locator("textarea")).to_have_value("Capital of Spain?")
    page.fill("textarea", "Capital of Spain, please?")
    fake.script(reply="Madrid.")
    page.get_by_role("button", name="Send as a new version").click()
    expect(page.locator(".msg-user .md")).to_have_text(["Capital of Spain, please?"])
    expect(_answers(page)).to_have_text(["Madrid."], timeout=10000)
    expect(page.locator(".msg-user .version-count")).to_have_text("2/2")
    page.locator(".msg-user").get_by_role("button", name="Previous version").click()
    expect(page.locator(".msg-user .md")).to_have_text(["Capital of Spain?"])
    expect(_answers(page)).to_have_text(["Lisbon."])


def test_regenerate_and_delete_without_javascript(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    live_server: Any,
    provider: Provider,
    fake: Any,
    browser: Browser,
) -> None:
    fake.script(reply="Old answer.")
    chat_id = send(client, csrf, "Question").get_json()["chat_id"]
    finish(app)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/chats/{chat_id}")
        fake.script(reply="New answer.")
        page.get_by_role("button", name="Regenerate").click()
        expect(_answers(page)).to_have_text(["New answer."])
        expect(page.locator(".msg-assistant .version-count")).to_have_text("2/2")
        page.locator(".msg-assistant").get_by_role("link", name="Delete").click()
        expect(page.get_by_role("heading", name="Delete message")).to_be_visible()
        page.get_by_role("button", name="Delete").click()
        expect(_answers(page)).to_have_text(["Old answer."])
        expect(page.locator(".version-count")).to_have_count(0)
    finally:
        context.close()
    assert [m.content for m in messages_of(app, chat_id)] == ["Question", "Old answer."]
