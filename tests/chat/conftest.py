"""Fixtures for the chat tests: a provider pointing at the fake server, and helpers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models import ChatMessage, ChatSession, Provider
from calango.services.generation import wait_for_generations
from config import TestConfig

FAKE_MODEL = "fake-model"
# Fixed prices (USD per 1M tokens) so that cost assertions do not depend on price data.
PRICES = {FAKE_MODEL: {"input": 2.0, "output": 8.0}}


@pytest.fixture
def app_config(app_config: TestConfig) -> TestConfig:
    # Tests inject failures: no backoff retries, short waits.
    app_config.PROVIDER_MAX_RETRIES = 0
    app_config.PROVIDER_READ_TIMEOUT = 5.0
    app_config.PROVIDER_CONNECT_TIMEOUT = 2.0
    return app_config


@pytest.fixture
def fake(fake_provider: Any) -> Iterator[Any]:
    fake_provider.reset()
    yield fake_provider
    fake_provider.release()


@pytest.fixture
def provider(app: Flask, fake: Any) -> Provider:
    """An OpenAI-compatible provider "Fake" served by the fake server."""
    with app.app_context():
        p = Provider(
            name="Fake",
            kind="openai",
            base_url=fake.openai_base_url,
            models=[FAKE_MODEL, "other-model"],
            price_overrides=PRICES,
        )
        p.set_api_key("sk-fake-key-0001")
        db.session.add(p)
        db.session.commit()
        db.session.refresh(p)
        db.session.expunge(p)
        return p


@pytest.fixture
def anthropic_provider(app: Flask, fake: Any) -> Provider:
    with app.app_context():
        p = Provider(
            name="FakeClaude",
            kind="anthropic",
            base_url=fake.anthropic_base_url,
            models=["claude-fake"],
            price_overrides={"claude-fake": {"input": 3.0, "output": 15.0}},
        )
        p.set_api_key("sk-ant-fake-0002")
        db.session.add(p)
        db.session.commit()
        db.session.refresh(p)
        db.session.expunge(p)
        return p


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
