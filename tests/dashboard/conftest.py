"""Helpers for the dashboard tests: recorded calls written straight into the database."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from calango.accounts import local_user_id
from calango.extensions import db
from calango.models import ChatMessage, ChatSession, ProviderCall
from calango.services import call_rollup
from config import TestConfig


@pytest.fixture
def app_config(app_config: TestConfig) -> TestConfig:
    app_config.BABEL_DEFAULT_TIMEZONE = "UTC"
    return app_config


def add_answer(
    app: Flask,
    ts: datetime,
    *,
    provider: str = "OpenAI",
    model: str = "gpt-4o",
    persona: str | None = "Calango (Default)",
    status: str = "complete",
    prompt: int | None = 100,
    completion: int | None = 50,
    estimated: bool = False,
    cost: str | None = "0.01",
    ttft_ms: int | None = 300,
    total_ms: int | None = 1300,
    error_class: str | None = None,
    chat_id: uuid.UUID | None = None,
    owner_id: int | None = None,
) -> tuple[uuid.UUID, int]:
    """An assistant answer as the producer records it, in a new chat of ``owner_id``
    (default: the local user); returns (chat id, message id)."""
    with app.app_context():
        if chat_id is None:
            owner = owner_id if owner_id is not None else local_user_id()
            chat = ChatSession(title="t", persona=persona, owner_id=owner)
            db.session.add(chat)
            db.session.flush()
            chat_id = chat.id
        usage: dict[str, Any] | None = None
        if prompt is not None:
            usage = {"prompt": prompt, "completion": completion, "estimated": estimated}
        message = ChatMessage(
            session_id=chat_id,
            role="assistant",
            content="answer",
            status=status,
            timestamp=ts,
            provider=provider,
            model=model,
            persona=persona,
            token_usage=usage,
            prompt_tokens=prompt,
            completion_tokens=completion,
            tokens_estimated=estimated if prompt is not None else None,
            cost=Decimal(cost) if cost is not None else None,
            ttft_ms=ttft_ms,
            total_ms=total_ms,
            error="failed" if status == "error" else None,
            error_class=error_class,
        )
        db.session.add(message)
        call_rollup.count_rows([message])  # as the producer's final save does
        db.session.commit()
        return chat_id, message.id


def add_call(
    app: Flask,
    ts: datetime,
    kind: str = "test_connection",
    provider: str = "OpenAI",
    status: str = "complete",
    error_class: str | None = None,
    duration_ms: int = 200,
    owner_id: int | None = None,
) -> None:
    """A *Test connection* or *Fetch models* call of ``owner_id`` (default: the local user)."""
    with app.app_context():
        call = ProviderCall(
            owner_id=owner_id if owner_id is not None else local_user_id(),
            kind=kind,
            provider=provider,
            status=status,
            error_class=error_class,
            duration_ms=duration_ms,
            timestamp=ts,
        )
        db.session.add(call)
        call_rollup.count_call(call)  # as services.call_log does
        db.session.commit()
