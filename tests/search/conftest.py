"""Fixtures for the history tests: the chat tests' fake provider, and a quick way to add
chats and messages straight to the database (as an import would)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from calango.extensions import db
from calango.models import ChatMessage, ChatSession
from calango.models.types import utcnow
from calango.services.branches import link_as_single_branch
from tests.chat.conftest import anthropic_provider, app_config, provider  # noqa: F401

AddChat = Callable[..., uuid.UUID]


@pytest.fixture
def add_chat(app: Flask) -> AddChat:
    """``add_chat(title, [texts], when=..., **message fields)`` → the new chat's id.

    Messages alternate user / assistant, one second apart, ending at ``when``.
    """

    def add(
        title: str,
        texts: list[str] | None = None,
        when: datetime | None = None,
        **fields: Any,
    ) -> uuid.UUID:
        when = when or utcnow()
        texts = texts or []
        with app.app_context():
            chat = ChatSession(title=title, created_at=when, updated_at=when)
            db.session.add(chat)
            db.session.flush()
            start = when - timedelta(seconds=len(texts))
            for i, text in enumerate(texts):
                role = "user" if i % 2 == 0 else "assistant"
                values = {"model": "fake-model"} if role == "assistant" else {}
                values.update(fields)
                db.session.add(
                    ChatMessage(
                        session_id=chat.id,
                        role=role,
                        content=text,
                        timestamp=start + timedelta(seconds=i),
                        **values,
                    )
                )
            db.session.flush()
            link_as_single_branch([chat.id])
            db.session.commit()
            return chat.id

    return add


def message_ids(app: Flask, chat_id: uuid.UUID) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                ChatMessage.select_for_session(chat_id).with_only_columns(ChatMessage.id)
            )
        )
