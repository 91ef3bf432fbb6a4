"""Provider calls that are not chat answers: *Test connection*, *Fetch models*, *Hatch*.

Chat answers keep their metrics on their message; the dashboard reads both through one
query (``calango.services.dashboard_query.calls``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from calango.extensions import db
from calango.models.owners import default_owner as _default_owner
from calango.models.types import UTCDateTime, utcnow


class CallKind:
    """What a recorded provider call was for."""

    CHAT = "chat"
    TEST_CONNECTION = "test_connection"
    FETCH_MODELS = "fetch_models"
    ARENA = "arena"  # an answer in A Rinha (kept on its message, like a chat answer)
    HATCH = "hatch"  # a persona proposed from a description
    TITLE = "title"  # a chat's title named by a model (services.auto_titles)
    ALL = (CHAT, TEST_CONNECTION, FETCH_MODELS, ARENA, HATCH, TITLE)


class ProviderCall(db.Model):
    """One provider call outside a chat: what, to whom, how it ended and how long it took."""

    __tablename__ = "provider_calls"
    __table_args__ = (Index("ix_provider_calls_timestamp", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Who made the call (calango.accounts.current_user_id); their deletion deletes it.
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=_default_owner
    )
    kind: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(80))
    model: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    error_class: Mapped[str | None] = mapped_column(String(40))
    duration_ms: Mapped[int] = mapped_column(Integer)
    # Calls that produce text (a hatch) have tokens and a cost; tests and model lists don't.
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 8))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ProviderCall {self.id} {self.kind} {self.provider} {self.status}>"
