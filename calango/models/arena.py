"""A Rinha (the arena): rounds of 2–4 contenders answering the same prompts, and the votes.

Each contender's conversation is a :class:`ChatSession` of kind ``arena`` holding its
messages, so an arena answer is produced, streamed, stopped, saved and recorded exactly like a
chat answer. Arena sessions never show among the chats (sidebar, search, exports).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from calango.extensions import db
from calango.models.chat import TITLE_MAX, ChatSession
from calango.models.names import NAME_MAX
from calango.models.owners import default_owner as _default_owner
from calango.models.types import UTCDateTime, utcnow

MIN_CONTENDERS = 2
MAX_CONTENDERS = 4


class VoteOutcome:
    """What a vote on one turn said."""

    WINNER = "winner"  # one contender's answer was the best (``winner_slot``)
    TIE = "tie"  # all equally good
    ALL_BAD = "all_bad"  # none was good
    ALL = (WINNER, TIE, ALL_BAD)


class ArenaRound(db.Model):
    """One round: its contenders answer each prompt (a turn) side by side."""

    __tablename__ = "arena_rounds"
    __table_args__ = (
        Index("ix_arena_rounds_created_at_id", "created_at", "id"),
        UniqueConstraint("owner_id", "import_key", name="uq_arena_rounds_owner_id_import_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Whose it is (calango.accounts.current_user_id); their deletion deletes it.
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, default=_default_owner
    )
    title: Mapped[str] = mapped_column(String(TITLE_MAX), default="")
    # Blind: columns in random order (``ArenaContender.position``), names hidden until the vote.
    blind: Mapped[bool] = mapped_column(Boolean, default=False)
    # How many prompts the round has had (its first and each follow-up).
    turns: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where an imported round came from (the original app's "rinha-mode" records).
    import_key: Mapped[str | None] = mapped_column(String(255))

    contenders: Mapped[list[ArenaContender]] = relationship(
        back_populates="round",
        order_by="ArenaContender.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    votes: Mapped[list[ArenaVote]] = relationship(
        back_populates="round",
        order_by="ArenaVote.turn",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"<ArenaRound {self.id} {self.title!r}>"


class ArenaContender(db.Model):
    """One column of a round: a (provider, model) pair, a persona and its conversation."""

    __tablename__ = "arena_contenders"
    __table_args__ = (
        UniqueConstraint("round_id", "slot", name="uq_arena_contenders_round_id_slot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("arena_rounds.id", ondelete="CASCADE"), index=True
    )
    # The order the contenders were chosen in (0–3); votes name the winner by it.
    slot: Mapped[int] = mapped_column(SmallInteger)
    # The order the columns are shown in: the slot, or a random order in blind mode.
    position: Mapped[int] = mapped_column(SmallInteger)
    provider: Mapped[str] = mapped_column(String(NAME_MAX))
    model: Mapped[str] = mapped_column(String(200))
    persona: Mapped[str | None] = mapped_column(String(NAME_MAX))
    # Its conversation: a session of kind "arena"; "Continue in a chat" makes it a chat (the
    # round keeps showing its first turns); NULL once that chat is deleted.
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("chat_sessions.id", ondelete="SET NULL"), unique=True
    )

    round: Mapped[ArenaRound] = relationship(back_populates="contenders")
    session: Mapped[ChatSession | None] = relationship()

    def __repr__(self) -> str:
        return f"<ArenaContender {self.round_id}/{self.slot} {self.model!r}>"


class ArenaVote(db.Model):
    """The vote on one turn of a round (at most one; voting again replaces it)."""

    __tablename__ = "arena_votes"
    __table_args__ = (UniqueConstraint("round_id", "turn", name="uq_arena_votes_round_id_turn"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("arena_rounds.id", ondelete="CASCADE"))
    turn: Mapped[int] = mapped_column(Integer)  # 0 for the first prompt, 1 for a follow-up…
    outcome: Mapped[str] = mapped_column(String(16))
    winner_slot: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    round: Mapped[ArenaRound] = relationship(back_populates="votes")
