"""What the chat composer offers and preselects.

A model is always chosen *with its provider*: two providers often list the same model name
(OpenAI and OpenRouter, Ollama and LM Studio), so the model menu's values are
``"<provider id>:<model>"`` pairs, never a bare model name that several options share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from calango.accounts import current_user_id
from calango.extensions import db
from calango.models import DEFAULT_PERSONA_NAME, ChatMessage, ChatSession, Persona, Provider
from calango.models.names import normalize_name
from calango.services.builtin_personas import default_persona_names
from calango.services.personas import visible_personas
from calango.services.preferences import last_chat_choice

# At most 9 digits: any larger number is no row id (PostgreSQL's integer ends at 2**31 - 1).
_PAIR = re.compile(r"(\d{1,9}):(.+)\Z", re.DOTALL)


@dataclass
class ComposerChoice:
    """What the composer preselects."""

    provider: str = ""
    model: str = ""
    persona: str = ""
    provider_id: int | None = None
    # The name of the chat's persona when that persona was deleted (the page says so).
    missing_persona: str | None = None

    @property
    def model_value(self) -> str:
        """The model menu's value for this (provider, model) pair."""
        if self.provider_id is None or not self.model:
            return ""
        return model_value(self.provider_id, self.model)


@dataclass
class ComposerOptions:
    """Providers (enabled, with models) and personas offered by the composer."""

    providers: list[Provider] = field(default_factory=list)
    personas: list[Persona] = field(default_factory=list)
    # Any provider at all, usable or not: without one the page offers first-run set-up.
    any_configured: bool = False


def model_value(provider_id: int, model: str) -> str:
    """The value of the model menu's option for ``model`` of provider ``provider_id``."""
    return f"{provider_id}:{model}"


def split_model_value(value: str) -> tuple[int | None, str]:
    """``(provider id, model)`` from a model menu value; ``(None, value)`` for a bare name
    (what scripts and older pages post)."""
    match = _PAIR.match(value)
    if match is None:
        return None, value
    return int(match.group(1)), match.group(2)


def composer_options(user_id: int | None = None) -> ComposerOptions:
    """Enabled providers that have models, the personas ``user_id`` (default: the current
    user) may pick, and whether any provider exists."""
    providers = [p for p in db.session.scalars(Provider.select_enabled()) if p.models]
    viewer = user_id if user_id is not None else current_user_id()
    personas = visible_personas(viewer)
    any_configured = bool(providers) or (
        db.session.scalar(Provider.select_all().limit(1)) is not None
    )
    return ComposerOptions(providers=providers, personas=personas, any_configured=any_configured)


def _find_provider(options: ComposerOptions, wanted: dict[str, Any]) -> Provider | None:
    """The provider named in ``wanted``; by id when that name is gone (it was renamed).

    The name comes first: a saved choice imported from another installation carries ids of
    that installation's rows."""
    name = wanted.get("provider") or ""
    for provider in options.providers:
        if provider.name == name:
            return provider
    wanted_id = wanted.get("provider_id")
    for provider in options.providers:
        if isinstance(wanted_id, int) and provider.id == wanted_id:
            return provider
    return None


def _find_persona(options: ComposerOptions, wanted: dict[str, Any]) -> Persona | None:
    """The persona wanted: by id (it survives renames). Only without an id, by name: chats
    imported from a file, and the saved choice of an older version."""
    wanted_id = wanted.get("persona_id")
    if isinstance(wanted_id, int):
        return next((p for p in options.personas if p.id == wanted_id), None)
    key = normalize_name(wanted.get("persona") or "")
    return next((p for p in options.personas if p.name_key == key), None) if key else None


def _chat_wants(chat: ChatSession) -> dict[str, Any]:
    """The provider/model of the chat's last answer and the chat's persona."""
    wanted: dict[str, Any] = {"persona": chat.persona, "persona_id": chat.persona_id}
    last = db.session.execute(
        select(ChatMessage.provider, ChatMessage.model)
        .where(ChatMessage.session_id == chat.id, ChatMessage.role == "assistant")
        .order_by(ChatMessage.timestamp.desc(), ChatMessage.id.desc())
        .limit(1)
    ).first()
    if last is not None:
        wanted |= {"provider": last.provider, "model": last.model}
    return wanted


def composer_choice(chat: ChatSession | None, options: ComposerOptions) -> ComposerChoice:
    """A reopened chat preselects its last provider/model and its persona; a new chat the
    last used. A chat whose persona was deleted gets the default, and ``missing_persona``."""
    wanted = _chat_wants(chat) if chat is not None else last_chat_choice()
    if chat is not None and "provider" not in wanted:
        wanted = last_chat_choice() | {k: wanted[k] for k in ("persona", "persona_id")}
    choice = ComposerChoice()
    provider = _find_provider(options, wanted) or (
        options.providers[0] if options.providers else None
    )
    if provider is not None:
        choice.provider = provider.name
        choice.provider_id = provider.id
        model = wanted.get("model")
        choice.model = model if model in provider.models else provider.models[0]
    persona = _find_persona(options, wanted)
    persona_names = [p.name for p in options.personas]
    if persona is not None:
        choice.persona = persona.name
    elif DEFAULT_PERSONA_NAME in persona_names:
        choice.persona = DEFAULT_PERSONA_NAME
    else:  # the built-in default in another language (calango.services.builtin_personas)
        defaults = default_persona_names()
        choice.persona = next((n for n in persona_names if n in defaults), choice.persona)
    if chat is not None and chat.persona and persona is None:
        choice.missing_persona = chat.persona
    return choice
