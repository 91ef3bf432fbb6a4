"""Helpers the tests import (fixtures stay in the conftest files)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models import ChatMessage, ChatSession, Provider
from calango.services.generation import wait_for_generations

FAKE_MODEL = "fake-model"
# Fixed prices (USD per 1M tokens) so that cost assertions do not depend on price data.
PRICES = {FAKE_MODEL: {"input": 2.0, "output": 8.0}}


def csrf_token_from(client: FlaskClient, path: str = "/chats/") -> str:
    """Fetch a page and return the CSRF token the layout carries in its meta tag."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, "page has no csrf-token meta tag"
    return match.group(1)


def flashes(client: FlaskClient) -> list[str]:
    """The flashed messages waiting in ``client``'s session (and clear them)."""
    with client.session_transaction() as session:
        return [message for _category, message in session.pop("_flashes", [])]


def provider_named(app: Flask, name: str) -> Provider | None:
    """The provider called exactly ``name``, detached from the session, or None."""
    with app.app_context():
        provider = db.session.scalars(Provider.select_by_name(name)).first()
        if provider is not None and provider.name == name:
            db.session.expunge(provider)
            return provider
        return None


def add_provider(app: Flask, api_key: str | None = None, **fields: Any) -> Provider:
    """Store a provider built from ``fields`` (and ``api_key``); returned detached."""
    with app.app_context():
        provider = Provider(**fields)
        provider.set_api_key(api_key)
        db.session.add(provider)
        db.session.commit()
        db.session.refresh(provider)
        db.session.expunge(provider)
        return provider


def send(
    client: FlaskClient,
    token: str,
    text: str,
    chat_id: Any = None,
    provider: str = "Fake",
    model: str = FAKE_MODEL,
    persona: str = "Calango (Default)",
    json: bool = True,
) -> Any:
    """POST a message as the composer does (JSON for the script, a plain form without it)."""
    url = f"/chats/{chat_id}/messages" if chat_id else "/chats/messages"
    headers = {"Accept": "application/json"} if json else {}
    data = {
        "csrf_token": token,
        "content": text,
        "provider": provider,
        "model": model,
        "persona": persona,
    }
    return client.post(url, data=data, headers=headers)


def finish(app: Flask) -> None:
    """Wait for every answer this app is producing."""
    wait_for_generations(app, timeout=20)


def messages_of(app: Flask, chat_id: Any) -> list[ChatMessage]:
    with app.app_context():
        rows = list(db.session.scalars(ChatMessage.select_for_session(uuid.UUID(str(chat_id)))))
        for row in rows:
            db.session.expunge(row)
        return rows


def only_chat(app: Flask) -> ChatSession:
    with app.app_context():
        chats = list(db.session.scalars(ChatSession.select_recent()))
        assert len(chats) == 1, chats
        db.session.expunge(chats[0])
        return chats[0]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def sse_events(response: Any) -> list[tuple[str, str, str | None]]:
    """Parse a Server-Sent Events body into (event, data, id) triples."""
    events = []
    for block in response.get_data(as_text=True).split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        if "data" in fields:
            events.append((fields.get("event", "message"), fields["data"], fields.get("id")))
    return events


def send_with_files(
    client: FlaskClient,
    token: str,
    text: str,
    files: list[tuple[bytes, str]],
    chat_id: Any = None,
    provider: str = "Fake",
    model: str = FAKE_MODEL,
    json: bool = True,
) -> Any:
    """POST a message with attached files ``(bytes, name)`` as the multipart composer does."""
    import io

    url = f"/chats/{chat_id}/messages" if chat_id else "/chats/messages"
    headers = {"Accept": "application/json"} if json else {}
    data = {
        "csrf_token": token,
        "content": text,
        "provider": provider,
        "model": model,
        "persona": "Calango (Default)",
        "files": [(io.BytesIO(content), name) for content, name in files],
    }
    return client.post(url, data=data, headers=headers, content_type="multipart/form-data")


def png_bytes(width: int, height: int, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A PNG of one colour."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def pdf_bytes(text: str | None) -> bytes:
    """A one-page PDF showing ``text`` (None: a blank page, as a scan without text reads)."""
    stream = f"BT /F1 18 Tf 40 100 Td ({text}) Tj ET".encode() if text is not None else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 200] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
