"""Long chats and many chats, without JavaScript: the latest 50 messages and a link to the
earlier ones, a search result opening its message, the sidebar's keyset pages grouped by
day, and pinning."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import to_user_timezone
from sqlalchemy import event

from calango import create_app
from calango.extensions import db
from calango.models import ChatSession
from calango.models.types import utcnow
from calango.services.chat import build_context
from calango.services.history import day_group
from config import ConfigError, TestConfig
from tests.search.conftest import AddChat, message_ids


def shown_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="msg[^"]*" id="m-(\d+)"', page)]


def test_long_chat_shows_the_latest_50_and_links_to_earlier_ones(
    app: Flask, client: FlaskClient, add_chat: AddChat
) -> None:
    chat_id = add_chat("Long", [f"message number {i}" for i in range(120)])
    ids = message_ids(app, chat_id)
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert shown_ids(page) == ids[-50:]
    assert "Show the latest messages" not in page
    link = re.search(r'id="earlier-link"[^>]*\s+href="([^"]+)"', page, re.S)
    assert link, "an earlier-messages link that works without JavaScript"
    second = client.get(link.group(1).replace("&amp;", "&").split("#")[0])
    second_page = second.get_data(as_text=True)
    assert shown_ids(second_page) == ids[-100:-50]
    assert "Show the latest messages" in second_page
    link = re.search(r'id="earlier-link"[^>]*\s+href="([^"]+)"', second_page, re.S)
    third = client.get(link.group(1).replace("&amp;", "&").split("#")[0]).get_data(as_text=True)
    assert shown_ids(third) == ids[:20]
    assert 'id="earlier-link"' not in third  # the first message is on screen


def test_script_gets_earlier_messages_as_json(
    app: Flask, client: FlaskClient, add_chat: AddChat
) -> None:
    chat_id = add_chat("Long", [f"m{i}" for i in range(70)])
    ids = message_ids(app, chat_id)
    data = client.get(
        f"/chats/{chat_id}?before={ids[20]}", headers={"Accept": "application/json"}
    ).get_json()
    assert shown_ids(data["html"]) == ids[:20]
    assert data["earlier"] is None
    data = client.get(
        f"/chats/{chat_id}?before={ids[-1]}", headers={"Accept": "application/json"}
    ).get_json()
    assert shown_ids(data["html"]) == ids[-51:-1] and data["earlier"] == ids[-51]


def test_search_result_opens_an_old_message_marked(
    app: Flask, client: FlaskClient, add_chat: AddChat
) -> None:
    texts = [f"filler {i}" for i in range(200)]
    texts[30] = "the hidden okapi"
    chat_id = add_chat("Long", texts)
    ids = message_ids(app, chat_id)
    results = client.get("/chats/search?q=okapi").get_data(as_text=True)
    href = re.search(r'href="(/chats/[^"]+#m-\d+)"', results).group(1).replace("&amp;", "&")
    page = client.get(href.split("#")[0]).get_data(as_text=True)
    assert f'id="m-{ids[30]}"' in page and "msg-target" in page
    assert shown_ids(page)[10] == ids[30]  # ten messages of context above it
    assert "Show earlier messages" in page and "Show the latest messages" in page


def test_unknown_or_foreign_message_ids_fall_back_to_the_latest(
    app: Flask, client: FlaskClient, add_chat: AddChat
) -> None:
    chat_id = add_chat("Mine", [f"m{i}" for i in range(60)])
    other = add_chat("Other", ["x", "y"])
    foreign = message_ids(app, other)[0]
    latest = message_ids(app, chat_id)[-50:]
    for query in (
        f"before={foreign}",
        "before=abc",
        "at=999999",
        f"at={foreign}",
        "before=-1",
        "before=99999999999999999999",
        "at=2147483648",
    ):
        response = client.get(f"/chats/{chat_id}?{query}")
        assert response.status_code == 200
        assert shown_ids(response.get_data(as_text=True)) == latest


def test_context_is_one_query_whatever_the_length(app: Flask, add_chat: AddChat) -> None:
    chat_id = add_chat("Long", [f"turn {i}" for i in range(600)])
    with app.test_request_context():
        chat = db.session.get(ChatSession, chat_id)
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            context = build_context(chat, "be brief", "next", "gpt-4o")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert context[0]["role"] == "system" and context[-1]["content"] == "next"
    assert [m["content"] for m in context[1:3]] == ["turn 0", "turn 1"]


# --- the sidebar ---------------------------------------------------------------------


def sidebar_titles(page: str) -> list[str]:
    nav = page.split('<nav class="chat-list"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<span class="chat-title"[^>]*>([^<]*)</span>', nav)


def older_link(page: str) -> str | None:
    match = re.search(r'href="(/chats/\?older=[0-9a-f.]+)" rel="next"', page)
    return match.group(1) if match else None


def test_paging_has_no_duplicates_or_gaps_while_chats_arrive(
    app: Flask, client: FlaskClient
) -> None:
    base = utcnow() - timedelta(days=1)
    with app.app_context():
        for i in range(75):
            # Pairs share a timestamp: the id breaks the tie.
            when = base - timedelta(minutes=i // 2)
            db.session.add(ChatSession(title=f"chat {i:03d}", created_at=when, updated_at=when))
        db.session.commit()
    seen: list[str] = []
    url: str | None = "/chats/"
    pages = 0
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += sidebar_titles(page)
        url = older_link(page)
        pages += 1
        with app.app_context():  # someone chats meanwhile: new chats go to the top
            db.session.add(ChatSession(title=f"new {pages}", updated_at=utcnow()))
            db.session.commit()
    old = [t for t in seen if t.startswith("chat ")]
    assert len(old) == len(set(old)) == 75
    assert pages == 3


def test_sidebar_groups_by_day(app: Flask, client: FlaskClient, add_chat: AddChat) -> None:
    now = utcnow()
    add_chat("today chat", when=now)
    add_chat("yesterday chat", when=now - timedelta(days=1))
    add_chat("last week chat", when=now - timedelta(days=4))
    add_chat("ancient chat", when=now - timedelta(days=90))
    page = client.get("/chats/").get_data(as_text=True)
    order = [
        "Today",
        "today chat",
        "Yesterday",
        "yesterday chat",
        "Previous 7 days",
        "last week chat",
        "Older",
        "ancient chat",
    ]
    positions = [page.index(label) for label in order]
    assert positions == sorted(positions)


@pytest.mark.parametrize(("zone", "group"), [("UTC", "yesterday"), ("Asia/Tokyo", "today")])
def test_day_groups_follow_the_configured_time_zone(
    monkeypatch: pytest.MonkeyPatch, zone: str, group: str
) -> None:
    # 16:00 UTC on the 22nd is 01:00 on the 23rd in Tokyo; "now" is 23rd 01:00 UTC.
    monkeypatch.setenv("CALANGO_TIMEZONE", zone)
    app = create_app(TestConfig())
    with app.test_request_context():
        now = to_user_timezone(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
        assert day_group(datetime(2026, 11, 22, 16, 0, tzinfo=UTC), now) == group


def test_unknown_time_zone_is_a_clear_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALANGO_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(ConfigError, match="CALANGO_TIMEZONE must be a time zone name"):
        TestConfig()


def test_pin_and_unpin_need_csrf_and_put_the_chat_first(
    app: Flask, client: FlaskClient, csrf: str, add_chat: AddChat
) -> None:
    now = utcnow()
    old = add_chat("old but important", when=now - timedelta(days=30))
    add_chat("recent", when=now)
    assert client.post(f"/chats/{old}/pin").status_code == 400  # no CSRF token
    response = client.post(f"/chats/{old}/pin", data={"csrf_token": csrf, "next": "/chats/?x=1"})
    assert response.status_code == 303 and response.headers["Location"] == "/chats/?x=1"
    page = client.get("/chats/").get_data(as_text=True)
    assert sidebar_titles(page) == ["old but important", "recent"]
    assert "Pinned" in page and page.count("is-pinned") == 1 and "Unpin" in page
    evil = client.post(f"/chats/{old}/unpin", data={"csrf_token": csrf, "next": "//evil.example/"})
    assert evil.headers["Location"] == f"/chats/{old}"  # never an open redirect
    page = client.get("/chats/").get_data(as_text=True)
    assert sidebar_titles(page) == ["recent", "old but important"]
    assert client.post(f"/chats/{uuid.uuid4()}/pin", data={"csrf_token": csrf}).status_code == 404


def test_bad_sidebar_cursor_shows_the_first_page(
    app: Flask, client: FlaskClient, add_chat: AddChat
) -> None:
    add_chat("only chat")
    for cursor in ("x", "99999999999999999.", "1." + "g" * 32, "9" * 17 + "." + "0" * 32):
        response = client.get("/chats/", query_string={"older": cursor})
        assert response.status_code == 200
