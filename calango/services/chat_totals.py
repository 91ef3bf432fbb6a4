"""A chat's totals of tokens and cost, for its header."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from calango.extensions import db
from calango.models import ChatMessage


@dataclass(frozen=True)
class ChatTotals:
    """Tokens in and out and the cost of every answer in a chat (``cost`` is ``None`` when
    no answer has one); ``estimated`` when some counts are estimates."""

    answers: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal | None
    estimated: bool

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


def chat_totals(session_id: uuid.UUID) -> ChatTotals:
    """Sums over the chat's answers, in one query."""
    row = db.session.execute(
        select(
            func.count(ChatMessage.id),
            func.coalesce(func.sum(ChatMessage.prompt_tokens), 0),
            func.coalesce(func.sum(ChatMessage.completion_tokens), 0),
            func.sum(ChatMessage.cost),
            func.max(ChatMessage.tokens_estimated.cast(db.Integer)),
        ).where(ChatMessage.session_id == session_id, ChatMessage.role == "assistant")
    ).one()
    answers, prompt, completion, cost, estimated = row
    return ChatTotals(
        answers=int(answers or 0),
        prompt_tokens=int(prompt or 0),
        completion_tokens=int(completion or 0),
        cost=Decimal(cost) if cost is not None else None,
        estimated=bool(estimated),
    )
