"""A Rinha's rounds: start one (2–4 contenders answer the same prompt at once) and follow up.

Each contender's answer is a chat answer in the contender's own session (of kind ``arena``):
the same producer, streaming, Stop, durability, costs and recording as in a chat. A contender
that cannot be sent to (no key, model gone, provider disabled) gets its error in its own
column; the others start anyway. Votes, "Continue in a chat" and deleting are in
``calango.services.arena_actions``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

from calango.accounts import current_user_id
from calango.extensions import db
from calango.i18n import format_number
from calango.llm import ProviderSettings, find_price
from calango.models import (
    ArenaContender,
    ArenaRound,
    ChatMessage,
    ChatSession,
    MessageStatus,
    Persona,
    Provider,
    SessionKind,
)
from calango.models.arena import MAX_CONTENDERS, MIN_CONTENDERS
from calango.models.types import utcnow
from calango.services import arena_queries as queries
from calango.services import budgets, call_rollup
from calango.services.branches import read_branch
from calango.services.call_log import NOT_SENT
from calango.services.chat import ChatInputError, build_context, resolve_provider, title_from
from calango.services.composer import split_model_value
from calango.services.generation import (
    Generation,
    GenerationRequest,
    lease_seconds,
    start_answer,
)
from calango.services.message_html import final_html_values
from calango.services.personas import find_visible
from calango.services.preferences import put_setting

LAST_CHOICE_KEY = "last_arena_choice"


class ArenaInputError(Exception):
    """The round cannot start or continue; ``message`` is translated and safe to show."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ContenderChoice:
    """One contender as chosen in the form: a model menu value and a persona id."""

    model_value: str
    persona_id: int | None = None


@dataclass
class _Prepared:
    """A contender ready to be asked: how to reach it, or why it cannot be."""

    contender: ArenaContender
    persona_prompt: str | None
    settings: ProviderSettings | None = None
    provider: Provider | None = None
    error: str | None = None
    assistant: ChatMessage | None = None
    context: list[dict[str, str]] | None = None
    parent_id: int | None = None  # the contender's last message (its conversation is a tree)


def _checked_prompt(text: str) -> str:
    limit = current_app.config["MAX_MESSAGE_CHARS"]
    text = (text or "").replace("\r\n", "\n")
    if not text.strip():
        raise ArenaInputError(_("Type a prompt for the contenders."))
    if len(text) > limit:
        raise ArenaInputError(
            _(
                "The prompt has %(length)s characters; the limit is %(limit)s.",
                length=format_number(len(text)),
                limit=format_number(limit),
            ),
            status=413,
        )
    return text


def _persona(persona_id: int | None) -> Persona | None:
    if persona_id is None:
        return None
    persona = find_visible(persona_id, current_user_id())  # another user's: as if gone
    if persona is None:
        raise ArenaInputError(_("A persona you picked no longer exists. Pick another one."))
    return persona


def _provider_of(value: str) -> tuple[Provider, str]:
    provider_id, model = split_model_value(value)
    provider = db.session.get(Provider, provider_id) if provider_id is not None else None
    if provider is None:
        raise ArenaInputError(
            _("A model you picked belongs to no provider any more. Pick another one.")
        )
    return provider, model


def _refuse_over_budget() -> None:
    """The round costs the user's money: refused (402) when their monthly budget is used up."""
    try:
        budgets.check_budget(current_user_id())
    except budgets.BudgetExceeded as exc:
        db.session.rollback()
        raise ArenaInputError(exc.message, status=exc.status) from None


def _connect(prepared: _Prepared, provider_name: str, value: str) -> None:
    """Settings to reach the contender's provider, or the error to show in its column."""
    try:
        provider, settings, _model = resolve_provider(provider_name, value)
    except ChatInputError as exc:
        prepared.error = exc.message
        return
    prepared.provider, prepared.settings = provider, settings


def start_round(prompt: str, choices: list[ContenderChoice], blind: bool) -> ArenaRound:
    """Save a round with 2–4 contenders and start every answer at once.

    Raises ArenaInputError for what the user must fix in the form; nothing is saved then."""
    text = _checked_prompt(prompt)
    if not MIN_CONTENDERS <= len(choices) <= MAX_CONTENDERS:
        raise ArenaInputError(
            _(
                "Pick between %(min)d and %(max)d contenders.",
                min=MIN_CONTENDERS,
                max=MAX_CONTENDERS,
            )
        )
    _refuse_over_budget()
    now = utcnow()
    owner = current_user_id()
    arena_round = ArenaRound(
        title=title_from(text), blind=blind, created_at=now, updated_at=now, owner_id=owner
    )
    positions = list(range(len(choices)))
    if blind:
        random.SystemRandom().shuffle(positions)
    prepared: list[_Prepared] = []
    for slot, choice in enumerate(choices):
        provider, model = _provider_of(choice.model_value)
        persona = _persona(choice.persona_id)
        session = ChatSession(
            title=arena_round.title, kind=SessionKind.ARENA, created_at=now, updated_at=now,
            owner_id=owner,
            persona=persona.name if persona else None, persona_id=persona.id if persona else None,
        )  # fmt: skip
        contender = ArenaContender(
            slot=slot, position=positions[slot], provider=provider.name, model=model,
            persona=persona.name if persona else None, session=session,
        )  # fmt: skip
        arena_round.contenders.append(contender)
        item = _Prepared(contender, persona.prompt if persona else None)
        _connect(item, provider.name, choice.model_value)
        prepared.append(item)
    db.session.add(arena_round)
    db.session.flush()
    for item in prepared:
        item.context = build_context(None, item.persona_prompt, text, item.contender.model)
    _add_turn(prepared, text, now)
    _remember(choices, blind)
    db.session.commit()
    _start_all(prepared)
    return arena_round


def follow_up(arena_round: ArenaRound, prompt: str) -> None:
    """Ask every contender still in the round a follow-up; each answers from its own history."""
    text = _checked_prompt(prompt)
    _refuse_over_budget()
    # Take the round first (a row lock on PostgreSQL, SQLite's write lock): a second
    # follow-up from another tab waits here, then sees this one's answers being written.
    queries.touch_round(arena_round.id, utcnow())
    alive = utcnow() - timedelta(seconds=lease_seconds())
    if queries.streaming_message_ids(arena_round.id, alive):
        db.session.rollback()
        raise ArenaInputError(
            _("The contenders are still answering. Wait for them, or stop them, then ask again."),
            status=409,
        )
    now = utcnow()
    prepared: list[_Prepared] = []
    for contender in arena_round.contenders:
        session = contender.session
        if session is None or session.kind != SessionKind.ARENA:
            continue  # continued in a chat (or that chat deleted): out of the round
        persona = db.session.get(Persona, session.persona_id) if session.persona_id else None
        item = _Prepared(contender, persona.prompt if persona else None)
        _connect(item, contender.provider, contender.model)
        branch = read_branch(session, session.leaf_id)
        item.parent_id = branch.leaf_id
        item.context = build_context(session, item.persona_prompt, text, contender.model, branch)
        session.updated_at = now
        session.leaf_id = None  # the new turn is the newest: the branch shown ends there
        prepared.append(item)
    if not prepared:
        raise ArenaInputError(_("Every contender of this round was continued in a chat."))
    arena_round.turns += 1
    arena_round.updated_at = now
    _add_turn(prepared, text, now)
    db.session.commit()
    _start_all(prepared)


def _add_turn(prepared: list[_Prepared], text: str, now: object) -> None:
    """The prompt and an answer (``streaming``, or the error) in each contender's session."""
    for item in prepared:
        contender = item.contender
        session = contender.session
        assert session is not None
        user = ChatMessage(
            role="user", content=text, timestamp=now, persona=contender.persona,
            status=MessageStatus.COMPLETE, parent_id=item.parent_id, **final_html_values(text),
        )  # fmt: skip
        session.messages.append(user)
        db.session.flush()  # the answer's parent is the prompt
        answer = ChatMessage(
            role="assistant", content="", timestamp=now, provider=contender.provider,
            model=contender.model, persona=contender.persona,
            status=MessageStatus.STREAMING if item.error is None else MessageStatus.ERROR,
            heartbeat_at=now if item.error is None else None,
            error=item.error, error_class=NOT_SENT if item.error else None,
            parent_id=user.id,
        )  # fmt: skip
        session.messages.append(answer)
        item.assistant = answer
    # The contenders that could not be sent are final calls already (A Cuca's sums).
    call_rollup.count_rows(item.assistant for item in prepared if item.error is not None)


def _start_all(prepared: list[_Prepared]) -> None:
    locale = str(get_locale() or "en")
    for item in prepared:
        if item.error is None and item.assistant is not None:
            _start_contender(item, locale)


def _start_contender(item: _Prepared, locale: str) -> Generation:
    """Start one contender's answer (already committed as a ``streaming`` message).

    The only place the arena starts a generation, through the answer protocol's one entry
    point (``start_answer``), as a send, a regenerate or a retry does."""
    provider, settings, answer = item.provider, item.settings, item.assistant
    assert provider is not None and settings is not None and answer is not None
    price = find_price(
        provider_name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        model=item.contender.model,
        overrides=provider.price_overrides,
    )
    return start_answer(
        GenerationRequest(
            message_id=answer.id,
            settings=settings,
            model=item.contender.model,
            messages=item.context or [],
            price=price,
            locale=locale,
            title_setting=None,  # an arena round names no chat: nothing to read at its end
        )
    )


def _remember(choices: list[ContenderChoice], blind: bool) -> None:
    put_setting(
        LAST_CHOICE_KEY,
        {
            "models": [c.model_value for c in choices],
            "personas": [c.persona_id for c in choices],
            "blind": blind,
        },
    )
