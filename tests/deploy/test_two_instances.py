"""Two gunicorn instances behind one PostgreSQL serve the same people: a message sent on
instance A is followed live from instance B (its text arrives while it is being written, not
all at the end), stopped from B, and saved once, as stopped, with the text B showed.

Whether B learns of new text by LISTEN/NOTIFY or by polling the database, the test is the
same: it only looks at what a user of B sees and what is saved.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from tests.conftest import _pg_admin_url, create_pg_database
from tests.deploy.instances import (
    Browser,
    Instance,
    create_account,
    flask,
    server_env,
    sign_in,
)
from tests.fakes.provider_server import FakeProviderServer

EMAIL, PASSWORD = "ana@example.com", "correct horse battery staple"
CHUNKS = [f"w{i} " for i in range(400)]  # 400 × 0.05 s: 20 s if nobody stops it


@pytest.fixture
def database_url() -> Iterator[str]:
    admin = _pg_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL: CALANGO_TEST_DATABASE_URL is not set")
    url, drop = create_pg_database(admin)
    yield url
    drop()


@pytest.fixture
def instances(database_url: str, tmp_path: Path) -> Iterator[tuple[Instance, Instance]]:
    """The release step (``flask db upgrade``) once, then two instances on one database."""
    env = server_env(database_url, tmp_path)
    flask(env, "db", "upgrade")
    create_account(env, EMAIL, PASSWORD, admin=True)
    a = Instance(env, tmp_path / "a.log")
    b = Instance(env, tmp_path / "b.log")
    try:
        a.launch(), b.launch()
        a.wait(), b.wait()
        yield a, b
    finally:
        a.stop()
        b.stop()


def _saved(database_url: str, message_id: int) -> tuple[str, str]:
    with psycopg2.connect(database_url.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT status, content FROM chat_messages WHERE id = %s", (message_id,))
        row = cur.fetchone()
    assert row is not None
    return row[0], row[1]


REFUSAL = "a private, loopback or link-local address"


def _allow_local(browser: Browser, base: str, allowed: bool) -> None:
    data = {"allow": "y"} if allowed else {}
    response = browser.post(base + "/settings/providers/local-access", data)
    assert response.status_code == 302


def _set_up_provider(browser: Browser, base: str, fake: FakeProviderServer) -> None:
    """As an admin would on instance A: the SSRF guard refuses the fake on 127.0.0.1 (when
    saved, and when connecting under gunicorn's gevent workers) until local providers are
    allowed; then it is added as a provider."""
    browser.page(base + "/settings/providers")
    provider = {
        "name": "Fake",
        "kind": "openai",
        "base_url": fake.openai_base_url,
        "api_key": "sk-fake-key-0001",
        "models": "fake-model",
    }
    refused = browser.post(base + "/settings/providers/new", provider)
    assert refused.status_code == 200 and REFUSAL in refused.text
    _allow_local(browser, base, True)
    response = browser.post(base + "/settings/providers/new", provider)
    assert response.status_code == 302, response.text[:2000]
    edit_url = response.headers["Location"]
    provider_id = re.search(r"/settings/providers/(\d+)", edit_url) or re.search(
        r"/settings/providers/(\d+)/", browser.page(base + "/settings/providers")
    )
    assert provider_id
    _allow_local(browser, base, False)
    page = browser.post(
        f"{base}/settings/providers/{provider_id.group(1)}/test", {}, follow_redirects=True
    ).text
    assert REFUSAL in page and fake.requests == []
    _allow_local(browser, base, True)


def test_an_answer_sent_on_one_instance_is_followed_and_stopped_on_the_other(
    instances: tuple[Instance, Instance], database_url: str, fake: FakeProviderServer
) -> None:
    a, b = instances
    browser = Browser()
    sign_in(browser, a.url, EMAIL, PASSWORD)
    _set_up_provider(browser, a.url, fake)
    fake.script(chunks=CHUNKS, delay=0.05)

    browser.page(a.url + "/")
    sent = browser.send(a.url, "Count for me", "Fake", "fake-model")
    # The same person, the same session, on the other instance: the chat is there too.
    assert "Count for me" in browser.page(b.url + sent["chat_url"])

    texts: list[tuple[str, float]] = []
    done: dict[str, Any] = {}
    stopped_at = 0.0
    with browser.stream(b.url + sent["stream_url"]) as events:
        for event, data, arrived in events:
            if event == "done":
                done = data
                break
            if data.get("text"):
                texts.append((data["text"], arrived))
            if len(texts) == 5 and not stopped_at:
                # Live: five pieces of text have come through B while A still writes.
                stop_url = f"{b.url}{sent['chat_url']}/messages/{sent['message_id']}/stop"
                response = browser.post(stop_url, {}, headers={"Accept": "application/json"})
                assert response.status_code == 200, response.text[:500]
                assert response.json()["stopped"] is True
                stopped_at = time.monotonic()

    assert stopped_at, "the stream ended before five pieces of text arrived"
    assert done.get("status") == "stopped", done
    shown = "".join(text for text, _arrived in texts)
    # The text arrived over time, as it was written (not in one lump at the end) ...
    assert texts[4][1] - texts[0][1] >= 0.1
    # ... and the answer was cut short.
    full = "".join(CHUNKS)
    assert full.startswith(shown) and len(shown) < len(full)

    status, content = _saved(database_url, sent["message_id"])
    assert status == "stopped"
    assert content == shown
    # Exactly one answer row, one provider request: nothing was generated twice.
    assert len([r for r in fake.requests if r.get("path", "").endswith("/chat/completions")]) == 1
    assert a.problems() == [] and b.problems() == []
