"""Chat use cases: send a message, rename and delete chats (what the composer offers is in
calango.services.composer)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from calango.encryption import KeyDecryptionError
from calango.extensions import db
from calango.i18n import format_number
from calango.llm import (
    ProviderSettings,
    context_window,
    env_key_names,
    find_price,
    resolve_api_key,
    trim_to_budget,
)
from calango.models import (
    ChatMessage,
    ChatSession,
    MessageStatus,
    Persona,
    Provider,
)
from calango.models.chat import TITLE_MAX
from calango.models.types import utcnow
from calango.services.branches import Branch, read_branch
from calango.services.composer import split_model_value
from calango.services.generation import (
    Generation,
    GenerationRequest,
    lease_seconds,
    request_stop,
    start_generation,
)
from calango.services.message_html import final_html_values
from calango.services.preferences import remember_chat_choice
from calango.services.titles import clean_title


class ChatInputError(Exception):
    """The message cannot be sent; ``message`` is translated and safe to show."""

    def __init__(self, message: str, status: int = 400, link: tuple[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.link = link  # (url, label) where the user can fix it


@dataclass
class SendResult:
    chat: ChatSession
    user_message: ChatMessage
    assistant_message: ChatMessage
    generation: Generation


def title_from(text: str) -> str:
    """A chat title from its first message (calango.services.titles.clean_title)."""
    return clean_title(text)


def message_count(chat: ChatSession) -> int:
    """How many messages the chat holds (shown before deleting it)."""
    count = db.session.scalar(
        select(func.count()).select_from(ChatMessage).where(ChatMessage.session_id == chat.id)
    )
    return count or 0


def provider_link() -> tuple[str, str]:
    """Where providers are set up: (url, label)."""
    return url_for("providers.index"), _("Settings → Providers")


def _model_of(provider: Provider, value: str) -> str:
    """The model the menu's ``value`` names for ``provider``.

    A pair of another provider is refused rather than sent to the provider picked (without
    the script, both menus can be changed independently): the same model name at another
    provider can cost a lot more, or be a different model altogether."""
    provider_id, model = split_model_value(value)
    if provider_id is None or (value in provider.models and model not in provider.models):
        return value  # a bare name (or a model whose own name looks like a pair)
    owner = db.session.get(Provider, provider_id) if provider_id != provider.id else None
    if owner is not None:
        raise ChatInputError(
            _(
                "The model “%(model)s” you picked is the one of “%(other)s”, not of "
                "“%(name)s”. Pick one of the models of “%(name)s”, or the provider "
                "“%(other)s”.",
                model=model,
                other=owner.name,
                name=provider.name,
            ),
        )
    return model


def _resolve_provider(name: str, value: str) -> tuple[Provider, ProviderSettings, str]:
    provider = db.session.scalars(Provider.select_by_name(name)).first()
    if provider is None:
        raise ChatInputError(
            _("The provider “%(name)s” no longer exists. Pick another one.", name=name),
            link=provider_link(),
        )
    if not provider.enabled:
        raise ChatInputError(
            _("The provider “%(name)s” is disabled. Enable it or pick another one.", name=name),
            link=provider_link(),
        )
    model = _model_of(provider, value)
    if model not in provider.models:
        raise ChatInputError(
            _(
                "The model “%(model)s” is not offered by “%(name)s” any more. Pick another "
                "model or add it to the provider.",
                model=model,
                name=name,
            ),
            link=provider_link(),
        )
    try:
        stored = provider.get_api_key()
    except KeyDecryptionError as exc:
        raise ChatInputError(str(exc), link=provider_link()) from None
    api_key = resolve_api_key(provider.kind, provider.base_url, stored)
    if not api_key:
        env = " / ".join(env_key_names(provider.kind, provider.base_url))
        if env:
            message = _(
                "The provider “%(name)s” has no API key. Add one in Settings → Providers or set "
                "%(vars)s.",
                name=provider.name,
                vars=env,
            )
        else:
            message = _(
                "The provider “%(name)s” has no API key. Add one in Settings → Providers.",
                name=provider.name,
            )
        raise ChatInputError(message, link=provider_link())
    config = current_app.config
    settings = ProviderSettings(
        name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        api_key=api_key,
        connect_timeout=config["PROVIDER_CONNECT_TIMEOUT"],
        read_timeout=config["PROVIDER_READ_TIMEOUT"],
        max_retries=config["PROVIDER_MAX_RETRIES"],
    )
    return provider, settings, model


def build_context(
    chat: ChatSession | None,
    persona_prompt: str | None,
    new_text: str | None,
    model: str,
    branch: Branch | None = None,
) -> list[dict[str, str]]:
    """System prompt, the visible branch's messages in order (only the text they hold), the
    new message (None: the branch already ends with the question, as when regenerating);
    trimmed oldest-first to the model's context budget."""
    messages: list[dict[str, str]] = []
    if persona_prompt:
        messages.append({"role": "system", "content": persona_prompt})
    if branch is None and chat is not None:
        branch = read_branch(chat, chat.leaf_id)  # one query whatever the chat's length
    if branch is not None:
        messages.extend({"role": role, "content": content} for role, content in branch.turns)
    if new_text is not None:
        messages.append({"role": "user", "content": new_text})
    window = context_window(model)
    reserve = min(4096, window // 4)
    return trim_to_budget(messages, window - reserve)


def _claim_for_sending(chat: ChatSession, now: datetime) -> None:
    """Take the chat for this send, or refuse while another answer in it is being written.

    Two tabs sending at once would each build a context without the other's answer. The
    UPDATE comes first: it locks the chat's row on PostgreSQL (and takes SQLite's single write
    lock), so a second send waits here until the first has committed its ``streaming``
    answer, and the check below, a fresh statement, then sees it. The context is read after
    this, so it holds every earlier answer.
    """
    # The message written next is the chat's newest: the visible branch ends there (NULL).
    db.session.execute(
        update(ChatSession).where(ChatSession.id == chat.id).values(updated_at=now, leaf_id=None)
    )
    alive = now - timedelta(seconds=lease_seconds())
    busy = db.session.scalar(
        select(ChatMessage.id)
        .where(
            ChatMessage.session_id == chat.id,
            ChatMessage.status == MessageStatus.STREAMING,
            ChatMessage.heartbeat_at >= alive,  # a dead producer's answer does not block
        )
        .limit(1)
    )
    if busy is not None:
        db.session.rollback()
        raise ChatInputError(
            _(
                "An answer in this chat is still being written. Wait for it to finish, or "
                "stop it, then send your message again."
            ),
            status=409,
        )


def send_message(
    session_id: uuid.UUID | None, text: str, provider_name: str, model: str, persona_name: str
) -> SendResult:
    """Commit the user message and a ``streaming`` assistant message, then start the answer.

    Raises ChatInputError (translated) for anything the user must fix; nothing is saved then.
    """
    limit = current_app.config["MAX_MESSAGE_CHARS"]
    text = text.replace("\r\n", "\n")  # browsers submit textarea lines with CRLF
    if not text.strip():
        raise ChatInputError(_("Type a message before sending."))
    if len(text) > limit:
        raise ChatInputError(
            _(
                "The message has %(length)s characters; the limit is %(limit)s. Shorten it "
                "or split it into several messages.",
                length=format_number(len(text)),
                limit=format_number(limit),
            ),
            status=413,
        )
    chat = None
    if session_id is not None:
        chat = db.session.get(ChatSession, session_id)
        if chat is None:
            raise ChatInputError(_("This chat no longer exists."), status=404)
    provider, settings, model = _resolve_provider(provider_name, model)
    persona_prompt, persona = None, None
    if persona_name:
        persona = db.session.scalars(Persona.select_by_name(persona_name)).first()
        if persona is None:
            raise ChatInputError(
                _("The persona “%(name)s” no longer exists. Pick another one.", name=persona_name)
            )
        persona_name, persona_prompt = persona.name, persona.prompt

    now = utcnow()
    branch = None
    if chat is not None:
        leaf_hint = chat.leaf_id  # read before the claim makes the new answer the leaf
        _claim_for_sending(chat, now)
        branch = read_branch(chat, leaf_hint)
    context = build_context(chat, persona_prompt, text, model, branch)
    if chat is None:
        chat = ChatSession(title=title_from(text), created_at=now)
        db.session.add(chat)
    chat.updated_at = now
    chat.persona = persona_name or None
    chat.persona_id = persona.id if persona is not None else None
    db.session.flush()
    user_message = ChatMessage(
        session_id=chat.id, role="user", content=text, timestamp=now,
        persona=persona_name or None, status=MessageStatus.COMPLETE,
        parent_id=branch.leaf_id if branch else None, **final_html_values(text),
    )  # fmt: skip
    db.session.add(user_message)
    db.session.flush()  # the answer's parent is the question
    assistant = ChatMessage(
        session_id=chat.id, role="assistant", content="", timestamp=now,
        status=MessageStatus.STREAMING, provider=provider.name, model=model,
        persona=persona_name or None, heartbeat_at=now, parent_id=user_message.id,
    )  # fmt: skip
    db.session.add(assistant)
    remember_chat_choice(provider, model, persona)
    db.session.commit()

    price = find_price(
        provider_name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        model=model,
        overrides=provider.price_overrides,
    )
    generation = start_generation(
        GenerationRequest(
            message_id=assistant.id,
            settings=settings,
            model=model,
            messages=context,
            price=price,
            locale=str(get_locale() or "en"),
        )
    )
    return SendResult(chat, user_message, assistant, generation)


def rename_chat(chat: ChatSession, title: str) -> None:
    """Give a chat a new title (the form has validated it)."""
    chat.title = title.strip()[:TITLE_MAX]
    db.session.commit()


def delete_chat(chat: ChatSession) -> None:
    """Delete a chat and its messages, stopping an answer still being written."""
    streaming = db.session.scalars(
        select(ChatMessage.id).where(
            ChatMessage.session_id == chat.id, ChatMessage.status == MessageStatus.STREAMING
        )
    ).all()
    for message_id in streaming:
        request_stop(message_id)
    db.session.delete(chat)
    db.session.commit()
