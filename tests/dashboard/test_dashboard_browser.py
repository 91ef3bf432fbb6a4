"""In Chromium: the dashboard's charts draw, under the CSP, in a dark and the light theme."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page

from calango.extensions import db
from calango.services.preferences import put_setting
from tests.dashboard.conftest import add_answer

pytestmark = pytest.mark.browser

# Counts the chart's painted pixels (alpha > 0): an empty canvas has none.
PAINTED = """(canvas) => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  return painted;
}"""


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the page is the same on both databases; the queries are tested there


@pytest.mark.parametrize("theme", ["calango", "claro"])
def test_charts_draw_in_two_themes(app: Flask, live_server: Any, page: Page, theme: str) -> None:
    now = datetime.now(UTC)
    for day in range(5):
        add_answer(app, now - timedelta(days=day), cost="0.5", ttft_ms=200 + day * 50)
        add_answer(app, now - timedelta(days=day, hours=1), model="claude", provider="Anthropic",
                   cost="0.25", ttft_ms=400)  # fmt: skip
    add_answer(app, now, status="error", error_class="timeout", prompt=None, completion=None,
               cost=None, ttft_ms=None)  # fmt: skip
    with app.app_context():
        put_setting("theme", theme)
        db.session.commit()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/cuca/?period=7d")
    assert page.locator("html").get_attribute("data-theme") == theme
    holders = page.locator(".chart-canvas.chart-drawn")
    holders.first.wait_for()
    assert holders.count() == 6
    for i in range(holders.count()):
        canvas = holders.nth(i).locator("canvas")
        box = canvas.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100
        assert canvas.evaluate(PAINTED) > 500, f"chart {i} is blank"
    # Drawn charts fold their tables away; the tables are still there to open.
    assert page.locator("details.chart-table[open]").count() == 0
    assert page.locator("details.chart-table").count() == 6
    assert errors == []  # no CSP violation, no script error


@pytest.mark.parametrize("width", [1280, 390])
def test_a_total_stays_on_one_line_of_its_card(
    app: Flask, live_server: Any, page: Page, width: int
) -> None:
    """A sub-cent cost in pt-BR ("US$ 0,002100") once broke inside the number."""
    from calango.services.preferences import LANGUAGE_KEY

    add_answer(app, datetime.now(UTC) - timedelta(hours=1), cost="0.0021", prompt=123456)
    with app.app_context():
        put_setting(LANGUAGE_KEY, "pt_BR")
        db.session.commit()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/cuca/?period=7d")
    values = page.locator(".total-value")
    assert values.count() == 7
    assert "US$ 0,002100" in values.first.inner_text().replace("\xa0", " ")
    for i in range(values.count()):
        lines = values.nth(i).evaluate(
            "(e) => Math.round(e.getBoundingClientRect().height"
            " / parseFloat(getComputedStyle(e).lineHeight))"
        )
        assert lines == 1, f"{values.nth(i).inner_text()!r} takes {lines} lines at {width} px"
