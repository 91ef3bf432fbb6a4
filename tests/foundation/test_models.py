"""Key encryption and cascades, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text

from calango.encryption import KeyDecryptionError
from calango.extensions import db
from calango.models import ChatMessage, ChatSession, Provider


def test_api_key_is_never_stored_in_clear(app_ctx):
    provider = Provider(name="openai", kind="openai", models=["gpt-4o"])
    provider.set_api_key("sk-secret-value-1234")
    db.session.add(provider)
    db.session.commit()
    raw = db.session.execute(text("SELECT * FROM providers")).mappings().one()
    assert "sk-secret-value-1234" not in " ".join(str(v) for v in raw.values())
    assert raw["api_key_hint"] == "1234"
    db.session.expire_all()
    assert db.session.get(Provider, provider.id).get_api_key() == "sk-secret-value-1234"


def test_wrong_encryption_key_is_a_clear_error(app_ctx):
    provider = Provider(name="anthropic", kind="anthropic", models=[])
    provider.set_api_key("sk-ant-abc")
    db.session.add(provider)
    db.session.commit()
    app_ctx.config["ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    with pytest.raises(KeyDecryptionError, match="cannot be decrypted"):
        provider.get_api_key()


def test_deleting_a_session_deletes_its_messages(app_ctx):
    chat = ChatSession(title="Hello")
    db.session.add(chat)
    db.session.flush()
    db.session.add_all(
        [
            ChatMessage(session_id=chat.id, role="user", content="hi"),
            ChatMessage(session_id=chat.id, role="assistant", content="hello"),
        ]
    )
    db.session.commit()
    # Delete through SQL, so the database's ON DELETE CASCADE does the work.
    db.session.execute(ChatSession.__table__.delete().where(ChatSession.id == chat.id))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ChatMessage)) == 0


def test_timestamps_come_back_timezone_aware(app_ctx):
    chat = ChatSession(title="tz")
    db.session.add(chat)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ChatSession, chat.id).created_at.tzinfo is not None


def test_setting_put_is_an_upsert_when_another_writer_got_there_first(app_ctx):
    from calango.models import Setting

    with db.engine.begin() as other:  # another request commits the row first
        other.execute(Setting.__table__.insert().values(key="last_chat_choice", value={"a": 1}))
    Setting.put("last_chat_choice", {"a": 2})  # no IntegrityError: insert or update
    db.session.commit()
    assert Setting.get("last_chat_choice") == {"a": 2}
