"""A full round in Chromium: columns streaming at once, a vote, the leaderboard."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from calango.models import Provider
from tests.arena.conftest import pair
from tests.helpers import finish

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    # The browser tests exercise the page; the database matrix is covered elsewhere.
    return "sqlite"


def test_a_full_round_streams_side_by_side_then_a_vote_ranks_the_models(
    app: Flask, live_server: Any, provider: Provider, fake: Any, page: Page
) -> None:
    fake.script_model("alpha", chunks=["**alpha** "] + [f"a{i} " for i in range(40)], delay=0.05)
    fake.script_model("beta", chunks=["*beta* "] + [f"b{i} " for i in range(40)], delay=0.05)
    fake.script_model("gamma", status=429, error_body={"error": {"message": "slow down"}})
    page.goto(live_server.url + "/rinha/")
    page.select_option("#contenders-0-model", pair(provider, "alpha"))
    page.select_option("#contenders-1-model", pair(provider, "beta"))
    page.select_option("#contenders-2-model", pair(provider, "gamma"))
    page.fill("#prompt", "Quem ganha?")
    page.get_by_role("button", name="Start the round").click()

    columns = page.locator(".arena-column")
    expect(columns).to_have_count(3)
    alpha, beta, gamma = columns.nth(0), columns.nth(1), columns.nth(2)
    # Both answers are visible while both are still being written, Markdown rendered.
    expect(alpha.locator(".md.streaming")).to_contain_text("a3", timeout=5000)
    expect(beta.locator(".md.streaming")).to_contain_text("b3", timeout=5000)
    expect(alpha.locator(".md.streaming strong")).to_have_text("alpha")
    expect(beta.locator(".md.streaming em")).to_have_text("beta")
    assert "a39" not in alpha.inner_text() and "b39" not in beta.inner_text()
    expect(gamma.locator(".msg-notice-error")).to_contain_text("HTTP 429")
    # Both finish with their metrics; then the vote buttons come in without a reload.
    expect(alpha.locator(".md")).to_contain_text("a39", timeout=10000)
    expect(beta.locator(".md")).to_contain_text("b39", timeout=10000)
    expect(alpha.locator(".arena-metrics")).to_contain_text("First token")
    expect(alpha.locator(".arena-metrics")).to_contain_text("$")
    page.get_by_role("button", name="beta · Fake is best").click()
    expect(page.get_by_role("button", name="beta · Fake is best (your vote)")).to_be_visible()
    finish(app)

    page.get_by_role("link", name="Leaderboard").click()
    rows = page.locator(".arena-board tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("beta")
    expect(page.locator(".arena-leaderboard")).to_contain_text("From 1 vote.")


def test_without_javascript_the_round_page_refreshes_until_done(
    app: Flask, live_server: Any, provider: Provider, fake: Any, browser: Any
) -> None:
    fake.script_model("alpha", chunks=[f"a{i} " for i in range(30)], delay=0.05)
    fake.script_model("beta", reply="quick")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/rinha/")
    page.select_option("#contenders-0-model", pair(provider, "alpha"))
    page.select_option("#contenders-1-model", pair(provider, "beta"))
    page.fill("#prompt", "Sem script")
    page.get_by_role("button", name="Start the round").click()
    # The page reloads itself (noscript refresh) until both are done.
    expect(page.locator(".arena-column").nth(0)).to_contain_text("a29", timeout=10000)
    expect(page.get_by_role("button", name="alpha · Fake is best")).to_be_visible()
    context.close()
    finish(app)
