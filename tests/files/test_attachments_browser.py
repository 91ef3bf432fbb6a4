"""Attaching files in Chromium: the file input, drag-and-drop, removing a pending file, and
the chips on the sent message."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from calango.models import Provider
from tests.files.conftest import VISION_MODEL
from tests.helpers import finish, messages_of, only_chat, png_bytes

pytestmark = pytest.mark.browser

DROP = """([name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
  const composer = document.getElementById("composer");
  for (const kind of ["dragover", "drop"]) {
    composer.dispatchEvent(new DragEvent(kind, { dataTransfer: transfer, bubbles: true,
                                                 cancelable: true }));
  }
}"""


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the page is what is tested here; the databases are covered elsewhere


def test_attach_drop_remove_send_and_see_the_chips(
    app: Flask, live_server: Any, provider: Provider, fake: Any, page: Page
) -> None:
    fake.script(echo_user=True)
    page.goto(live_server.url + "/")
    page.select_option("#model", label=VISION_MODEL)
    page.set_input_files(
        "#files", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}]
    )
    pending = page.locator("#pending-files .file-chip")
    expect(pending).to_have_count(1)
    expect(pending.first).to_contain_text("notes.txt")
    picture = base64.b64encode(png_bytes(20, 20)).decode()
    page.evaluate(DROP, ["dot.png", "image/png", picture])
    page.evaluate(DROP, ["oops.txt", "text/plain", base64.b64encode(b"no").decode()])
    expect(pending).to_have_count(3)
    expect(pending.nth(1).locator("img")).to_be_visible()
    page.get_by_role("button", name="Remove oops.txt").click()
    expect(pending).to_have_count(2)
    page.fill("#content", "Two files")
    page.press("#content", "Enter")
    question = page.locator(".msg-user").last
    expect(question.locator(".file-chip")).to_have_count(2, timeout=5000)
    expect(question.locator(".file-chip").first).to_contain_text("notes.txt")
    expect(question.locator(".file-chip-image img")).to_be_visible()
    expect(page.locator("#pending-files")).to_be_hidden()
    expect(page.locator(".msg-assistant .md").last).to_contain_text(
        '<file name="notes.txt">', timeout=5000
    )
    finish(app)
    sent = messages_of(app, only_chat(app).id)[0]
    assert (sent.content, sent.file_count) == ("Two files", 2)
    page.reload()
    expect(page.locator(".msg-user .file-chip")).to_have_count(2)
