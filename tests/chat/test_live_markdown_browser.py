"""Markdown while the answer streams: lists, code and tables take shape before the end,
sanitised like the final render, and the final swap does not move the text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from calango.models import Provider
from tests.helpers import finish

pytestmark = pytest.mark.browser

ANSWER = [
    "Here is a list:\n\n",
    "- first **bold** item\n",
    "- second item\n\n",
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n",
    "```python\nprint('hi')\n```\n\n",
    "[click](javascript:alert(1)) <img src=x onerror=alert(2)> ",
    "[ok](https://example.org)\n\n",
    "Bare: https://example.net/page\n\n",
]
# The server's wrappers and link attributes, as a list of (tag, class, target, rel): the
# streamed HTML must have the same, so that the final swap changes nothing but the colours.
SHAPED = ".code-block, .code-head, .code-lang, .table-wrap, .table-wrap > table, a"
SHAPE = f"""el => Array.from(el.querySelectorAll('{SHAPED}')).map(n => [n.tagName,
  n.className, n.getAttribute('target'), n.getAttribute('rel'), n.getAttribute('href'),
  n.classList.contains('code-lang') ? n.textContent : ''])"""

# How far the conversation's scroller is scrolled (chat.js scrolls #main, else the page).
SCROLL_TOP = "(document.getElementById('main') || document.scrollingElement).scrollTop"


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_markdown_takes_shape_while_streaming_and_the_end_does_not_jump(
    app: Flask, live_server: Any, provider: Provider, fake: Any, page: Page
) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    # A chunk a second: the shape is checked between two chunks.
    fake.script(chunks=[*ANSWER, "The end."], delay=1.0)
    page.goto(live_server.url + "/")
    # The script makes Enter send, and the placeholder then says so.
    expect(page.locator("#content")).to_have_attribute("placeholder", re.compile("Enter sends"))
    page.fill("#content", "show me markdown")
    page.press("#content", "Enter")
    answer = page.locator(".msg-assistant").last
    live = answer.locator(".md.streaming .stream-text")
    expect(live.locator("li strong")).to_have_text("bold", timeout=10000)
    expect(live.locator("table td").first).to_have_text("1", timeout=10000)
    expect(live.locator("pre code")).to_contain_text("print('hi')", timeout=10000)
    expect(live.locator('a[href="https://example.org"]')).to_have_attribute(
        "rel", "noopener noreferrer nofollow", timeout=10000
    )
    # The server's shape: the code block under its language head with a Copy button (copy.js),
    # the table in its wrapper, a bare address linked, links in a new tab.
    expect(live.locator(".code-block > .code-head > .code-lang")).to_have_text("python")
    expect(live.locator(".code-block > .code-head > .code-copy")).to_be_visible()
    expect(live.locator(".code-block > pre > code.language-python")).to_have_count(1)
    expect(live.locator(".table-wrap > table td").first).to_have_text("1")
    expect(live.locator('a[href="https://example.net/page"]')).to_have_attribute(
        "target", "_blank", timeout=10000
    )
    expect(live.locator('a[href="https://example.org"]')).to_have_attribute("target", "_blank")
    streamed_shape = live.evaluate(SHAPE)
    # Sanitised as the server does it: no script URL, no image, no event handler.
    assert live.locator("img").count() == 0
    assert live.locator('a[href^="javascript"]').count() == 0
    assert live.locator("[onerror]").count() == 0
    assert "&lt;img src=x onerror=alert(2)&gt;" in live.inner_html()  # shown as text
    streamed = live.bounding_box()  # before "The end." arrives, a second later
    assert streamed is not None
    scrolled = page.evaluate(SCROLL_TOP)
    expect(answer.locator(".msg-meta")).to_be_visible(timeout=10000)
    final = page.locator(".msg-assistant").last.locator(".md").first
    expect(final).to_contain_text("The end.")
    box = final.bounding_box()
    assert box is not None
    # The text before "The end." stays where it was in the page (same top, same width; only
    # grows). The view may follow the end down: the finished answer's actions add a row.
    moved = page.evaluate(SCROLL_TOP) - scrolled
    assert abs(box["y"] + moved - streamed["y"]) <= 2 and abs(box["width"] - streamed["width"]) <= 2
    assert box["height"] >= streamed["height"] - 2
    assert final.evaluate(SHAPE) == streamed_shape
    expect(final.locator(".code-block > .code-head > .code-copy")).to_have_count(1)
    assert not errors, errors
    finish(app)
