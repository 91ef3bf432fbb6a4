"""The everyday-chat fixes in Chromium (with the page's script)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from calango.models import Provider
from tests.everyday.conftest import KEYS, key_used
from tests.helpers import finish, messages_of, send

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    # The browser tests exercise the page; the database matrix is covered elsewhere.
    return "sqlite"


def test_reopened_chat_keeps_its_provider_and_model_and_sends_there(
    app: Flask,
    client: FlaskClient,
    csrf: str,
    live_server: Any,
    twins: dict[str, Provider],
    fake: Any,
    page: Page,
) -> None:
    lm_studio, ollama = twins["LM Studio"], twins["Ollama"]
    chat_id = send(client, csrf, "first", provider="LM Studio", model="fake-large").get_json()[
        "chat_id"
    ]
    finish(app)
    page.goto(f"{live_server.url}/chats/{chat_id}")
    expect(page.locator("#provider")).to_have_value("LM Studio")
    expect(page.locator("#model")).to_have_value(f"{lm_studio.id}:fake-large")

    # Another provider offering the same model name keeps the model...
    page.select_option("#provider", "Ollama")
    expect(page.locator("#model")).to_have_value(f"{ollama.id}:fake-large")
    page.select_option("#provider", "LM Studio")
    expect(page.locator("#model")).to_have_value(f"{lm_studio.id}:fake-large")

    page.fill("#content", "second")
    page.press("#content", "Enter")
    expect(page.locator(".msg-assistant .msg-meta")).to_have_count(2, timeout=10000)
    expect(page.locator(".msg-assistant .msg-meta").last).to_contain_text("LM Studio / fake-large")
    finish(app)
    assert len(fake.requests) == 2
    assert key_used(fake.requests[-1]) == KEYS["LM Studio"]
    assert fake.requests[-1]["json"]["model"] == "fake-large"
    answers = [m for m in messages_of(app, chat_id) if m.role == "assistant"]
    assert [(m.provider, m.model) for m in answers] == [("LM Studio", "fake-large")] * 2


def test_a_new_chat_shows_its_actions_and_sidebar_entry_without_a_reload(
    app: Flask, live_server: Any, twins: dict[str, Provider], fake: Any, page: Page
) -> None:
    page.goto(live_server.url + "/")
    page.evaluate("window.notReloaded = true")
    page.fill("#content", "A question worth a title")
    page.press("#content", "Enter")
    expect(page.locator(".chat-head h1")).to_have_text("A question worth a title")
    head = page.locator(".chat-head")
    expect(head.get_by_role("link", name="Rename")).to_be_visible()
    expect(head.get_by_role("link", name="Delete")).to_be_visible()
    entry = page.locator(".chat-list .chat-item.current")
    expect(entry).to_have_count(1)
    expect(entry.locator("time")).to_be_visible()
    expect(entry.get_by_role("button", name="Pin to the top")).to_have_count(1)
    expect(entry.get_by_role("link", name="Rename")).to_have_count(1)
    chat_id = page.url.rsplit("/", 1)[1]
    assert entry.locator("a").first.get_attribute("href") == f"/chats/{chat_id}"
    expect(page.locator(".msg-assistant .msg-meta")).to_have_count(1, timeout=10000)
    assert page.evaluate("window.notReloaded") is True
    finish(app)
