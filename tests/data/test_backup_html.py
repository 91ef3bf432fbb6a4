"""Stored message HTML is never taken from a backup: a crafted file's HTML would otherwise be
served as the renderer's trusted output."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from calango.extensions import db
from calango.models import ChatMessage
from calango.rendering import RENDER_VERSION
from calango.services.backups.backup import backup_sqlite

CRAFTED = '<img src=x onerror="alert(1)"><p>crafted</p>'


def test_a_restored_backup_renders_its_messages_again(
    app: Flask, client: FlaskClient, desktop_app: Any, tmp_path: Any
) -> None:
    with desktop_app.app_context():
        db.session.execute(
            update(ChatMessage).values(content_html=CRAFTED, content_html_version=RENDER_VERSION)
        )
        db.session.commit()
        backup = tmp_path / "b.db"
        backup_sqlite(backup)
        db.session.remove()
    app.config["ENCRYPTION_KEY"] = desktop_app.config["ENCRYPTION_KEY"]
    result = app.test_cli_runner().invoke(args=["calango", "restore", str(backup)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        rows = db.session.scalars(select(ChatMessage)).all()
        assert rows and all(m.content_html is None for m in rows)
        chat_id = rows[-1].session_id
        db.session.remove()
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    bubbles = page.split('id="m-', 1)[1]
    assert "crafted" not in bubbles and "<img" not in bubbles
