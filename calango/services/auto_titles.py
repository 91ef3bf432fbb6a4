"""Chat titles named by a model (optional, off by default; issue #13 item 5).

After the first answer of a new chat completes, the producer's thread asks the chosen model
for a short title in the chat's language. The answer is cleaned like the summary title
(``titles.clean_title``) and saved only if the chat still has the title it had before the
request (a chat the user renamed meanwhile keeps the user's name). The request is recorded as
a provider call of kind ``title`` with its tokens and cost. Nothing here may fail the answer:
every failure is logged and the summary title stays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update

from calango.extensions import db
from calango.llm import ChatParams, TextDelta, Usage, compute_cost, find_price, open_chat_stream
from calango.models import CallKind, ChatMessage, ChatSession, Provider, Setting
from calango.models.chat import MessageStatus, SessionKind
from calango.services import budgets
from calango.services.call_log import recorded_call
from calango.services.chat import resolve_provider
from calango.services.composer import split_model_value
from calango.services.generation import UNREAD
from calango.services.titles import TITLE_LENGTH, clean_title, plain_text

log = logging.getLogger(__name__)

SETTING_KEY = "auto_title"  # {"enabled": bool, "model": "<provider id>:<model>"}
MODEL_VALUE_MAX = 300
# Only the start of the question and of the answer is sent: enough to name the chat.
EXCERPT = 1500
MAX_OUTPUT_TOKENS = 60
QUOTES = "\"'“”‘’«»`"
SYSTEM = (
    f"You name chats. Answer with only a short title (at most {TITLE_LENGTH} characters, no "
    "quotes, no final period) for the conversation below, in the conversation's language."
)


@dataclass(frozen=True)
class AutoTitle:
    """The setting: whether new chats are named by a model, and which (a menu pair)."""

    enabled: bool = False
    model: str = ""


def load_auto_title(stored: Any = UNREAD) -> AutoTitle:
    """The saved setting (off when unset or malformed); ``stored``: its value, already read."""
    value = Setting.get(SETTING_KEY) if stored is UNREAD else stored
    if not isinstance(value, dict):
        return AutoTitle()
    model = value.get("model")
    return AutoTitle(
        enabled=value.get("enabled") is True,
        model=model if isinstance(model, str) and len(model) <= MODEL_VALUE_MAX else "",
    )


def save_auto_title(setting: AutoTitle) -> None:
    """Save the setting and commit."""
    Setting.put(SETTING_KEY, {"enabled": setting.enabled, "model": setting.model})
    db.session.commit()


def name_chat_after(message_id: int, stored: Any = UNREAD) -> None:
    """Name the chat of answer ``message_id`` with the chosen model, when the setting is on
    and this is the chat's first answer (``stored``: the setting's value if the send read
    it). Never raises."""
    try:
        _name_chat_after(message_id, stored)
    except Exception:
        db.session.rollback()
        log.exception("could not name the chat of answer %s with a model", message_id)
    finally:
        db.session.remove()


def _first_answer(message_id: int) -> tuple[ChatSession, str, str] | None:
    """(chat, question, answer) when ``message_id`` is the complete first answer of a chat."""
    answer = db.session.get(ChatMessage, message_id)
    if answer is None or answer.role != "assistant" or answer.status != MessageStatus.COMPLETE:
        return None
    chat = db.session.get(ChatSession, answer.session_id)
    if chat is None or chat.kind != SessionKind.CHAT:
        return None
    answers = db.session.scalar(
        select(func.count())
        .select_from(ChatMessage)
        .where(ChatMessage.session_id == chat.id, ChatMessage.role == "assistant")
    )
    if answers != 1:
        return None
    question = db.session.get(ChatMessage, answer.parent_id) if answer.parent_id else None
    if question is None:
        question = db.session.scalar(
            select(ChatMessage)
            .where(ChatMessage.session_id == chat.id, ChatMessage.role == "user")
            .order_by(ChatMessage.timestamp, ChatMessage.id)
            .limit(1)
        )
    if question is None:
        return None
    return chat, question.content[:EXCERPT], answer.content[:EXCERPT]


def _name_chat_after(message_id: int, stored: Any) -> None:
    setting = load_auto_title(stored)
    if not setting.enabled or not setting.model:
        return
    found = _first_answer(message_id)
    if found is None:
        return
    chat, question, answer = found
    if not budgets.within_budget(chat.owner_id):
        return  # the owner's budget is used up: the summary title stays, silently
    chat_id, title_before, owner_id = chat.id, chat.title, chat.owner_id
    provider_id, _model = split_model_value(setting.model)
    provider = db.session.get(Provider, provider_id) if provider_id is not None else None
    if provider is None:
        log.info("no chat title: the chosen provider %s is gone", provider_id)
        return
    provider, settings, model = resolve_provider(provider.name, setting.model)
    price = find_price(
        provider_name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        model=model,
        overrides=provider.price_overrides,
    )
    provider_name = provider.name
    db.session.rollback()  # nothing pending while the request runs
    user = f"User:\n{question}\n\nAssistant:\n{answer}"
    with recorded_call(CallKind.TITLE, provider_name, model, owner_id=owner_id) as usage:
        text, used = _ask(settings, model, user)
        if used is not None:
            usage.prompt_tokens = used.prompt_tokens
            usage.completion_tokens = used.completion_tokens
            usage.cost = _cost(price, used)
    title = title_of(text)
    if not title:
        return
    db.session.execute(
        update(ChatSession)
        .where(ChatSession.id == chat_id, ChatSession.title == title_before)
        .values(title=title)
    )
    db.session.commit()


def title_of(text: str) -> str:
    """The title in a model's answer: its first line's words, without quotes around them,
    cut like the summary title (``titles.clean_title``)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    plain = plain_text(lines[0]) if lines else ""
    return clean_title(plain.strip(QUOTES).strip().rstrip("."))


def _ask(settings: Any, model: str, user: str) -> tuple[str, Usage | None]:
    """The model's whole (streamed, collected) answer and its usage."""
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    parts: list[str] = []
    used: Usage | None = None
    stream = open_chat_stream(
        settings, model, messages, params=ChatParams(max_tokens=MAX_OUTPUT_TOKENS)
    )
    with stream:
        for event in stream:
            if isinstance(event, TextDelta):
                parts.append(event.text)
            elif isinstance(event, Usage):
                used = event
            if sum(map(len, parts)) > 4 * TITLE_LENGTH:
                break  # a model that will not stop: the start is enough
    return "".join(parts).replace("\x00", ""), used


def _cost(price: Any, usage: Usage) -> Decimal | None:
    try:
        return compute_cost(price, usage)
    except Exception:
        return None
