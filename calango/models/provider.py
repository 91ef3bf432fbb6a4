"""LLM providers: where to send a chat, and the (encrypted) key to send with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String, Text, false, select
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import Select

from calango.encryption import decrypt_secret, encrypt_secret
from calango.extensions import db
from calango.models.names import UniquelyNamed
from calango.models.types import UTCDateTime, utcnow

BASE_URL_MAX = 500
# ChatMessage.model holds the name of the model that answered.
MODEL_NAME_MAX = 200
# USD per million tokens; the dearest real models cost a few hundred.
PRICE_MAX = 1_000_000.0


class Provider(UniquelyNamed, db.Model):
    """One configured provider endpoint.

    ``kind`` picks the protocol: ``openai`` is any OpenAI-compatible endpoint (OpenAI, Groq,
    OpenRouter, Ollama, LM Studio, vLLM), ``anthropic`` the Messages API and ``gemini``
    Google's OpenAI-compatible endpoint.
    """

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="openai")
    base_url: Mapped[str | None] = mapped_column(String(BASE_URL_MAX))
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    api_key_hint: Mapped[str | None] = mapped_column(String(8))
    models: Mapped[list[str]] = mapped_column(JSON, default=list)
    # {"model-name": {"input": usd_per_million, "output": usd_per_million}}
    price_overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # A runtime on the user's own machine (Ollama, LM Studio, vLLM...): its answers cost
    # nothing. A local *address* alone is not enough (a proxy to a paid API can be local).
    local_runtime: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Provider {self.name} ({self.kind})>"

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)

    def set_api_key(self, plain: str | None) -> None:
        """Store ``plain`` encrypted (or forget the key when empty)."""
        if plain:
            self.api_key_encrypted = encrypt_secret(plain)
            # The last 4 characters identify a key; a short key would be mostly revealed.
            self.api_key_hint = plain[-4:] if len(plain) >= 12 else None
        else:
            self.api_key_encrypted = None
            self.api_key_hint = None

    def get_api_key(self) -> str | None:
        """The stored key in clear; raises KeyDecryptionError when it cannot be decrypted."""
        if not self.api_key_encrypted:
            return None
        return decrypt_secret(self.api_key_encrypted)

    @staticmethod
    def select_all() -> Select[tuple[Provider]]:
        return select(Provider).order_by(Provider.name_key)

    @staticmethod
    def select_enabled() -> Select[tuple[Provider]]:
        return Provider.select_all().where(Provider.enabled.is_(True))
