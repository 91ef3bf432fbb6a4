"""What a round's page shows: its columns (in their order, named or blind) and its turns."""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from flask_babel import gettext as _

from calango.models import (
    ArenaContender,
    ArenaRound,
    ArenaVote,
    ChatMessage,
    MessageStatus,
    SessionKind,
)
from calango.services import arena_queries as queries


@dataclass
class Column:
    """One contender as its column shows it."""

    contender: ArenaContender
    label: str  # "gpt-4o · OpenAI", or "Contender B" while blind
    hidden: bool  # blind and not voted yet: model, provider and cost are not shown
    continued: bool  # continued in a chat (out of later follow-ups)
    gone: bool  # that chat was deleted


@dataclass
class Turn:
    """One prompt and each column's answer to it (None where a column has none)."""

    index: int
    prompt: str
    answers: list[ChatMessage | None]
    vote: ArenaVote | None = None

    @property
    def streaming(self) -> bool:
        return any(a is not None and a.status == MessageStatus.STREAMING for a in self.answers)


@dataclass
class RoundView:
    round: ArenaRound
    columns: list[Column] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)

    @property
    def streaming(self) -> bool:
        return any(turn.streaming for turn in self.turns)

    @property
    def can_follow_up(self) -> bool:
        return any(not c.continued and not c.gone for c in self.columns)


def contender_label(contender: ArenaContender) -> str:
    """The model and its provider (and persona), as a column or a ranking names them."""
    label = f"{contender.model} · {contender.provider}"
    return f"{label} · {contender.persona}" if contender.persona else label


def revealed(arena_round: ArenaRound) -> bool:
    """Names are shown unless the round is blind and has no vote yet."""
    return not arena_round.blind or bool(arena_round.votes)


def round_view(arena_round: ArenaRound) -> RoundView:
    """The round's columns and turns, from one query for all the contenders' messages."""
    view = RoundView(arena_round)
    shown = revealed(arena_round)
    contenders = sorted(arena_round.contenders, key=lambda c: c.position)
    for contender in contenders:
        session = contender.session
        view.columns.append(
            Column(
                contender=contender,
                label=contender_label(contender)
                if shown
                else _("Contender %(letter)s", letter=string.ascii_uppercase[contender.position]),
                hidden=not shown,
                continued=session is not None and session.kind == SessionKind.CHAT,
                gone=session is None,
            )
        )
    messages = queries.session_messages(c.session_id for c in contenders if c.session_id)
    prompts: list[str] = []
    per_column: list[list[ChatMessage | None]] = []
    for contender in contenders:
        answers: list[ChatMessage | None] = []
        for message in messages.get(contender.session_id, []) if contender.session_id else []:
            if message.role == "user":
                if len(answers) >= arena_round.turns:
                    break  # a continued chat's own later messages are not the round's
                if len(prompts) <= len(answers):
                    prompts.append(message.content)
                answers.append(None)
            elif answers and answers[-1] is None:
                answers[-1] = message
        per_column.append(answers)
    votes = {vote.turn: vote for vote in arena_round.votes}
    for index, prompt in enumerate(prompts):
        view.turns.append(
            Turn(
                index=index,
                prompt=prompt,
                answers=[col[index] if index < len(col) else None for col in per_column],
                vote=votes.get(index),
            )
        )
    return view
