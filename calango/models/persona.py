"""Personas: named system prompts with a face (avatar), a description, traits, defaults."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, deferred, mapped_column
from sqlalchemy.sql import Select

from calango.extensions import db
from calango.models.names import NAME_KEY_MAX, NAME_MAX, UniquelyNamed
from calango.models.owners import default_owner as _default_owner
from calango.models.types import UTCDateTime, utcnow

DEFAULT_PERSONA_NAME = "Calango (Default)"
PROMPT_MAX = 20_000
DESCRIPTION_MAX = 300
EMOJI_MAX = 16  # one emoji may be several code points (skin tones, ZWJ sequences)
TRAIT_MAX = 30  # characters per trait
TRAITS_MAX = 8  # traits per persona
STARTER_MAX = 300  # characters per starter prompt
STARTERS_MAX = 4  # starter prompts per persona
MODEL_MAX = 200


class Persona(UniquelyNamed, db.Model):
    """A system prompt the user can pick for a chat, with how it looks and what it defaults to.

    Messages keep the persona's name as a label; chats link to it by id. ``avatar_image`` is
    a PNG made by ``services.avatars`` (never the uploaded bytes), loaded only when served.
    ``params`` holds default model parameters (see ``services.parameters``).
    """

    __tablename__ = "personas"
    # Names are unique among one user's personas (two users may both have a "Tutor").
    __table_args__ = (
        UniqueConstraint("owner_id", "name_key", name="uq_personas_owner_id_name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Whose it is (calango.accounts.current_user_id); their deletion deletes it.
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=_default_owner
    )
    # Made by an admin for everyone: listed for every user, editable only by admins.
    is_shared: Mapped[bool] = mapped_column(default=False)
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_MAX))
    prompt: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX))
    avatar_emoji: Mapped[str | None] = mapped_column(String(EMOJI_MAX))
    avatar_image: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    # Whether an image is stored, without loading it (the pages only need to know).
    has_avatar_image: Mapped[bool | None] = mapped_column()
    traits: Mapped[list[str] | None] = mapped_column(JSON)
    starters: Mapped[list[str] | None] = mapped_column(JSON)
    default_provider: Mapped[str | None] = mapped_column(String(NAME_MAX))
    default_model: Mapped[str | None] = mapped_column(String(MODEL_MAX))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Persona {self.name}>"

    @staticmethod
    def select_all() -> Select[tuple[Persona]]:
        return select(Persona).order_by(Persona.name_key)
