"""Personas: named system prompts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, select
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import Select

from calango.extensions import db
from calango.models.names import UniquelyNamed
from calango.models.types import UTCDateTime, utcnow

DEFAULT_PERSONA_NAME = "Calango (Default)"
PROMPT_MAX = 20_000


class Persona(UniquelyNamed, db.Model):
    """A system prompt the user can pick for a chat. Messages keep the name, not a link."""

    __tablename__ = "personas"

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Persona {self.name}>"

    @staticmethod
    def select_all() -> Select[tuple[Persona]]:
        return select(Persona).order_by(Persona.name_key)
