"""Helpers for the data tests: the sample legacy file and nastier ones built on purpose."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from calango.extensions import db
from calango.models import ChatMessage, ChatSession, Persona, Provider

# A copy of shared/legacy/calango.json (the original app's TinyDB file), kept with the tests so
# that a clean clone runs them.
SAMPLE = Path(__file__).parent / "samples" / "calango.json"


@pytest.fixture
def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def counts() -> dict[str, int]:
    """How many rows of each kind an import could write."""
    db.session.expire_all()
    return {
        "chats": count(ChatSession),
        "messages": count(ChatMessage),
        "providers": count(Provider),
        "personas": count(Persona),
    }


def history(
    rid: Any,
    session_id: Any = "s1",
    question: Any = "Hello?",
    reply: Any = "Hi!",
    **extra: Any,
) -> dict[str, Any]:
    """One record of the original's history table."""
    record: dict[str, Any] = {
        "id": rid,
        "session_id": session_id,
        "timestamp": "2025-11-03 15:20:38",
        "provider": "openai",
        "model": "gpt-4o",
        "persona": "Calango (Default)",
        "messages": [
            {"role": "system", "content": "You are a helpful AI assistant."},
            {"role": "user", "content": question},
        ],
        "reply": reply,
        "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
        "cost_usd": 0.0001,
    }
    record.update(extra)
    return record


def tinydb(**tables: list[Any] | dict[str, Any]) -> bytes:
    """A TinyDB file: each table a list of documents (ids 1, 2, ...) or a ready dict."""
    data = {
        name: ({str(i): doc for i, doc in enumerate(docs, 1)} if isinstance(docs, list) else docs)
        for name, docs in tables.items()
    }
    return json.dumps(data).encode()


@pytest.fixture
def desktop_app(tmp_path: Path, sample_bytes: bytes) -> Any:
    """A second app on its own migrated SQLite file, holding the legacy sample and a few rows
    with every field set: the source of backups and transfers."""
    from flask_migrate import upgrade

    from calango import create_app
    from calango.services.imports.legacy import import_legacy
    from config import TestConfig

    home = tmp_path / "desktop"
    home.mkdir()
    application = create_app(TestConfig(f"sqlite:///{home / 'calango.db'}", home=str(home)))
    with application.app_context():
        upgrade()
        import_legacy(sample_bytes)
        chat = db.session.scalars(select(ChatSession)).first()
        assert chat is not None
        chat.messages[-1].ttft_ms = 120
        chat.messages[-1].total_ms = 900
        db.session.commit()
        db.session.remove()
    yield application
    with application.app_context():
        db.engine.dispose()


def full_snapshot() -> dict[str, Any]:
    """Every row of every table with its id; provider keys decrypted (ciphertexts differ when
    re-encrypted)."""
    from calango.models import Setting

    db.session.expire_all()

    def row(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        return {
            c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs if c.key not in skip
        }

    return {
        "chats": [row(c) for c in db.session.scalars(select(ChatSession).order_by(ChatSession.id))],
        "messages": [
            row(m) for m in db.session.scalars(select(ChatMessage).order_by(ChatMessage.id))
        ],
        "providers": [
            {**row(p, ("api_key_encrypted",)), "key": p.get_api_key()}
            for p in db.session.scalars(select(Provider).order_by(Provider.id))
        ],
        "personas": [row(p) for p in db.session.scalars(select(Persona).order_by(Persona.id))],
        "settings": {s.key: s.value for s in db.session.scalars(select(Setting))},
    }
