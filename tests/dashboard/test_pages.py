"""The dashboard as a user meets it: the page, its filters, the log, the CSV and recording."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calango.extensions import db
from calango.models import ChatMessage, Provider, ProviderCall
from tests.dashboard.conftest import add_answer, add_call

NOW = datetime.now(UTC)


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_navigation_links_to_the_dashboard(app: Flask, client: FlaskClient) -> None:
    html = page(client, "/chats/")
    assert 'href="/cuca/"' in html


def test_an_empty_period_explains_how_to_get_data(app: Flask, client: FlaskClient) -> None:
    html = page(client, "/cuca/")
    assert "No calls in this period" in html
    assert "Test connection" in html and 'href="/chats/"' in html
    assert "<canvas" not in html and "chart.umd" not in html


def test_overview_shows_totals_charts_and_tables(app: Flask, client: FlaskClient) -> None:
    add_answer(app, NOW - timedelta(hours=1), cost="1.5", prompt=1200, completion=300)
    add_answer(app, NOW - timedelta(hours=2), model="claude", provider="Anthropic",
               status="error", error_class="rate_limit", prompt=None, completion=None,
               cost=None, ttft_ms=None)  # fmt: skip
    html = page(client, "/cuca/?period=7d")
    assert "$1.50" in html
    assert "1,200" in html  # tokens in, with the locale's separators
    assert "50.0%" in html  # error rate
    assert "Rate limited" in html  # errors by class, translated
    assert html.count("<canvas") >= 5
    assert html.count('<table class="data-table">') == html.count("<canvas")
    data = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html)
    assert data and '"cost-by-day"' in data.group(1)
    # The CSP allows no inline script: the only scripts are files.
    assert not re.search(r"<script(?![^>]*(src=|application/json))", html)


def test_overview_in_portuguese(app: Flask, client: FlaskClient) -> None:
    add_answer(app, NOW - timedelta(hours=1), cost="1234.5", prompt=1200)
    response = client.get("/cuca/?period=30d", headers={"Accept-Language": "pt-BR"})
    html = response.get_data(as_text=True)
    assert "Custo" in html
    assert "US$ 1.234,50" in html.replace("\xa0", " ")
    assert "1.200" in html


def test_filters_live_in_the_query_string(app: Flask, client: FlaskClient) -> None:
    add_answer(app, NOW - timedelta(hours=1), provider="OpenAI", model="gpt-4o", cost="2")
    add_answer(app, NOW - timedelta(hours=1), provider="Groq", model="llama", cost="3")
    add_call(app, NOW - timedelta(hours=1), provider="Groq")
    groq = page(client, "/cuca/?period=7d&provider=Groq")
    assert "$3.00" in groq and "$5.00" not in groq
    assert '<option selected value="Groq">' in groq or 'value="Groq" selected' in groq
    chats_only = page(client, "/cuca/?period=7d&kind=chat")
    assert "$5.00" in chats_only
    tests = page(client, "/cuca/?period=7d&kind=test_connection")
    assert "$0.00" in tests


def test_bad_filters_are_explained_and_ignored(app: Flask, client: FlaskClient) -> None:
    add_answer(app, NOW - timedelta(hours=1), cost="2")
    backwards = page(client, "/cuca/?period=custom&start=2026-05-01&end=2026-04-01")
    assert "The end date is before the start date." in backwards
    assert "$2.00" in backwards  # the default period is shown instead
    missing = page(client, "/cuca/?period=custom&start=2026-05-01")
    assert "A custom range needs both dates." in missing
    for url in (
        "/cuca/?period=bogus",
        "/cuca/?start=not-a-date&period=custom",
        "/cuca/?kind=%00",
        "/cuca/?provider=" + "x" * 5000,
        "/cuca/log?before=garbage",
        "/cuca/log?before=2026-01-01T00:00:00~chat~notanumber",
        "/cuca/calls.csv?period=custom&start=1900-01-01&end=1900-01-02",
    ):
        assert client.get(url).status_code == 200, url


def test_log_pages_with_a_keyset_and_links_to_each_message(app: Flask, client: FlaskClient) -> None:
    chat_id, _first = add_answer(app, NOW - timedelta(minutes=200))
    ids = [add_answer(app, NOW - timedelta(minutes=i), chat_id=chat_id)[1] for i in range(59)]
    add_call(app, NOW - timedelta(minutes=30), kind="fetch_models")
    first = page(client, "/cuca/log?period=7d")
    assert f'href="/chats/{chat_id}#m-{ids[0]}"' in first  # newest first
    assert "Fetch models" in first
    nxt = re.search(r'href="(/cuca/log\?[^"]*before=[^"]+)"', first)
    assert nxt, "no link to older calls"
    second = page(client, nxt.group(1).replace("&amp;", "&"))
    assert f"#m-{_first}" in second and f'#m-{ids[0]}"' not in second
    assert "Older calls" not in second
    rows = first.count("<tr>") - 1 + second.count("<tr>") - 1
    assert rows == 61  # every call once, none twice


def test_csv_streams_the_filtered_rows(app: Flask, client: FlaskClient) -> None:
    add_answer(app, NOW - timedelta(hours=2), model="=HYPERLINK(evil)", cost="0.5")
    add_answer(app, NOW - timedelta(hours=1), provider="Groq", cost=None)
    add_call(app, NOW - timedelta(hours=1), status="error", error_class="auth")
    response = client.get("/cuca/calls.csv?period=7d&provider=OpenAI")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["kind"] for r in rows] == ["chat", "test_connection"]
    assert rows[0]["model"] == "'=HYPERLINK(evil)"  # no formula runs in a spreadsheet
    assert rows[0]["cost"] == "0.50000000" and rows[0]["prompt_tokens"] == "100"
    assert rows[1]["error_class"] == "auth" and rows[1]["cost"] == ""


def _provider(app: Flask, fake: Any) -> int:
    with app.app_context():
        p = Provider(name="Fake", kind="openai", base_url=fake.openai_base_url, models=["m"])
        p.set_api_key("sk-test-0001")
        db.session.add(p)
        db.session.commit()
        return p.id


def test_test_connection_and_fetch_models_are_recorded(
    app: Flask, client: FlaskClient, csrf: str, fake: Any
) -> None:
    pid = _provider(app, fake)
    client.post(f"/settings/providers/{pid}/test", data={"csrf_token": csrf})
    fake.script(status=429)
    client.post(f"/settings/providers/{pid}/models", data={"csrf_token": csrf})
    with app.app_context():
        calls = db.session.scalars(select(ProviderCall).order_by(ProviderCall.id)).all()
        recorded = [(c.kind, c.provider, c.status, c.error_class) for c in calls]
    assert recorded == [
        ("test_connection", "Fake", "complete", None),
        ("fetch_models", "Fake", "error", "rate_limit"),
    ]
    html = page(client, "/cuca/log?period=7d")
    assert "Test connection" in html and "Rate limited" in html


def test_a_chat_answer_writes_the_dashboard_columns(
    app: Flask, client: FlaskClient, csrf: str, fake: Any
) -> None:
    from calango.services.generation import wait_for_generations

    _provider(app, fake)

    def send(text: str) -> None:
        client.post(
            "/chats/messages",
            data={"csrf_token": csrf, "content": text, "provider": "Fake", "model": "m",
                  "persona": "Calango (Default)"},
            headers={"Accept": "application/json"},
        )  # fmt: skip
        wait_for_generations(app, timeout=20)

    send("hi")
    fake.script(status=401)
    send("again")
    with app.app_context():
        answers = db.session.scalars(
            select(ChatMessage).where(ChatMessage.role == "assistant").order_by(ChatMessage.id)
        ).all()
        ok, failed = answers
        assert ok.status == "complete" and ok.error_class is None
        assert ok.prompt_tokens == ok.token_usage["prompt"] > 0
        assert ok.completion_tokens == ok.token_usage["completion"] > 0
        assert ok.tokens_estimated is ok.token_usage["estimated"]
        assert failed.status == "error" and failed.error_class == "auth"
        assert failed.prompt_tokens is None


def test_the_busiest_model_counts_its_calls_in_the_right_number(
    app: Flask, client: FlaskClient
) -> None:
    add_answer(app, NOW - timedelta(hours=1), model="gpt-4o")

    def busiest(html: str) -> str:
        found = re.search(
            r'<dd class="total-value">gpt-4o</dd>\s*<dd class="total-change">([^<]*)</dd>', html
        )
        assert found, "no detail under the busiest model"
        return found.group(1)

    assert busiest(page(client, "/cuca/?period=7d")) == "1 call"
    pt = client.get("/cuca/?period=7d", headers={"Accept-Language": "pt-BR"})
    assert busiest(pt.get_data(as_text=True)) == "1 chamada"
    add_answer(app, NOW - timedelta(hours=2), model="gpt-4o")
    assert busiest(page(client, "/cuca/?period=7d")) == "2 calls"
    pt = client.get("/cuca/?period=7d", headers={"Accept-Language": "pt-BR"})
    assert busiest(pt.get_data(as_text=True)) == "2 chamadas"
