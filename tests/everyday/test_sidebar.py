"""The sidebar: a new chat gets its full entry and header at once; a chat opened from an older
page of the list keeps that page."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models import ChatSession, Provider
from calango.models.types import utcnow
from calango.services.history import SIDEBAR_PAGE_SIZE
from tests.helpers import finish, send


def _add_chats(app: Flask, count: int) -> list[uuid.UUID]:
    """``count`` chats, newest first, a minute apart."""
    now = utcnow() - timedelta(hours=1)
    ids = []
    with app.app_context():
        for i in range(count):
            when = now - timedelta(minutes=i)
            chat = ChatSession(title=f"chat {i:03d}", created_at=when, updated_at=when)
            db.session.add(chat)
            db.session.flush()
            ids.append(chat.id)
        db.session.commit()
    return ids


def _nav(page: str) -> str:
    return page.split('<nav class="chat-list"', 1)[1].split("</nav>", 1)[0]


def _link_to(nav: str, chat_id: uuid.UUID) -> str:
    match = re.search(rf'<a href="(/chats/{chat_id}[^"]*)"', nav)
    assert match, f"no link to {chat_id} in the sidebar"
    return match.group(1).replace("&amp;", "&")


def test_a_chat_opened_from_an_older_page_keeps_that_page(app: Flask, client: FlaskClient) -> None:
    ids = _add_chats(app, SIDEBAR_PAGE_SIZE + 5)
    first = client.get("/chats/").get_data(as_text=True)
    older = re.search(r'href="(/chats/\?older=[0-9a-f.]+)" rel="next"', first)
    assert older
    second = client.get(older.group(1)).get_data(as_text=True)
    target = ids[SIDEBAR_PAGE_SIZE + 2]  # only on the second page
    assert str(target) not in _nav(first)

    page = client.get(_link_to(_nav(second), target)).get_data(as_text=True)
    nav = _nav(page)
    assert re.search(rf'<a href="/chats/{target}[^"]*" aria-current="page">', nav)
    assert "Newest chats" in nav
    assert str(ids[0]) not in nav  # still the second page, not the first
    assert "<h1>chat 032</h1>" in page

    # Renaming it from there comes back to the same page of the list.
    rename_url = re.search(rf'href="(/chats/{target}/rename[^"]*)"', nav)
    assert rename_url
    url = rename_url.group(1).replace("&amp;", "&")
    form = client.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert token
    response = client.post(url, data={"csrf_token": token.group(1), "title": "Renamed"})
    assert response.status_code == 303
    nav = _nav(client.get(response.headers["Location"]).get_data(as_text=True))
    assert re.search(rf'<a href="/chats/{target}[^"]*" aria-current="page">', nav)
    assert "Renamed" in nav and str(ids[0]) not in nav


def test_a_new_chat_gets_its_header_and_full_sidebar_entry_without_a_reload(
    app: Flask, client: FlaskClient, csrf: str, twins: dict[str, Provider], fake: Any
) -> None:
    _add_chats(app, 2)
    body = send(client, csrf, "Brand new question", provider="Ollama", model="fake-small")
    data = body.get_json()
    finish(app)
    chat_id = data["chat_id"]
    head = data["head_html"]
    assert "<h1>Brand new question</h1>" in head
    assert f'href="/chats/{chat_id}/rename"' in head and f'href="/chats/{chat_id}/delete"' in head
    nav = _nav(client.get(data["sidebar_url"]).get_data(as_text=True))
    entry = nav.split(f'<a href="/chats/{chat_id}"', 1)[1].split("</li>", 1)[0]
    assert 'aria-current="page"' in entry
    assert "<time " in entry and "Brand new question" in entry
    assert f'action="/chats/{chat_id}/pin"' in entry
    assert f'href="/chats/{chat_id}/rename"' in entry and f'href="/chats/{chat_id}/delete"' in entry
    assert nav.count('<li class="chat-item') == 3
    # A message in an existing chat sends no fragments: nothing on the page changes.
    again = send(client, csrf, "more", chat_id=chat_id, provider="Ollama", model="fake-small")
    assert "sidebar_url" not in again.get_json()
    finish(app)


def test_delete_is_a_drawn_icon_not_an_emoji_glyph(app: Flask, client: FlaskClient) -> None:
    # Chromium here (and many systems) has no font with 🗑: the link showed an empty box.
    (chat_id,) = _add_chats(app, 1)
    page = client.get("/chats/").get_data(as_text=True)
    nav = _nav(page)
    delete = re.search(rf'<a href="/chats/{chat_id}/delete[^"]*"[^>]*>(.*?)</a>', nav, re.S)
    assert delete, nav
    assert "🗑" not in page
    assert '<use href="#icon-trash">' in delete.group(1)
    assert 'id="icon-trash"' in page  # the drawing the link refers to
    assert "Delete" in delete.group(1)  # still named for screen readers
