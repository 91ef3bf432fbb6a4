"""Hatching a persona in Chromium: describe, get a prefilled form, edit, save, chat with it
(its avatar on the answer, its starter filling the composer)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from calango.extensions import db
from calango.models import Persona, Provider
from tests.helpers import finish

pytestmark = pytest.mark.browser

PROPOSAL = {
    "name": "Professora Ana",
    "description": "A patient Portuguese tutor.",
    "traits": ["patient", "precise"],
    "system_prompt": "You are Ana, a patient Portuguese tutor.",
    "starters": ["Explique a crase"],
}


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_hatch_edit_save_and_chat(
    app: Flask, live_server: Any, provider: Provider, fake: Any, page: Page
) -> None:
    fake.script(reply=json.dumps(PROPOSAL))
    page.goto(live_server.url + "/personas/")
    page.click("#hatch-link")
    page.fill("#description", "a patient Portuguese tutor who corrects my grammar")
    page.click("#hatch-submit")

    expect(page.locator("#name")).to_have_value("Professora Ana", timeout=10000)
    expect(page.locator("#traits")).to_have_value("patient, precise")
    expect(page.locator("#prompt")).to_have_value("You are Ana, a patient Portuguese tutor.")
    page.fill("#name", "Ana")
    page.fill("#avatar_emoji", "📚")
    page.click("#submit")

    expect(page.locator(".persona-list")).to_contain_text("Ana")
    expect(page.locator(".persona-list")).to_contain_text("patient")
    with app.app_context():
        persona = db.session.scalar(select(Persona).where(Persona.name == "Ana"))
        assert persona is not None and persona.starters == ["Explique a crase"]

    page.get_by_role("link", name="Chat Ana").click()
    expect(page.locator("#persona")).to_have_value("Ana")
    # The deferred scripts (the vendored Markdown ones are large) run before this event: a
    # click earlier would post the starter as a page without the script does.
    page.wait_for_load_state("domcontentloaded")
    page.get_by_role("button", name="Explique a crase").click()
    expect(page.locator("#content")).to_have_value("Explique a crase")
    fake.script(reply="A crase é a fusão de duas vogais.")
    page.press("#content", "Enter")
    answer = page.locator(".msg-assistant").last
    expect(answer.locator(".md")).to_contain_text("fusão", timeout=10000)
    expect(answer.locator(".msg-who")).to_contain_text("📚")
    finish(app)
    assert fake.requests[-1]["json"]["messages"][0]["content"].startswith("You are Ana")
