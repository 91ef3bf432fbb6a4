"""User preferences kept in the settings table: theme, language, last choices in the chat."""

from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy.exc import SQLAlchemyError

from calango.extensions import db
from calango.models import Persona, Provider, Setting
from calango.themes import DEFAULT_THEME, THEMES

THEME_KEY = "theme"
LANGUAGE_KEY = "language"
LAST_CHOICE_KEY = "last_chat_choice"


def _saved() -> dict[str, Any]:
    """Every setting, read once per request (theme, language and last choice are all needed
    by most pages: one query instead of three)."""
    cached = g.get("calango_settings")
    if cached is None:
        try:
            cached = {row.key: row.value for row in db.session.scalars(Setting.select_all())}
        except SQLAlchemyError:
            # Error pages render the layout too; a broken database must not break them.
            db.session.rollback()
            return {}
        g.calango_settings = cached
    return cached


def _safe_get(key: str) -> Any:
    primed = g.get("calango_settings_primed")
    if primed is not None and key in primed and "calango_settings" not in g:
        return primed[key]
    return _saved().get(key)


def prime_settings(values: dict[str, Any]) -> None:
    """Settings a query of the caller already read (the send reads the language and the last
    choice with its provider), so that this request does not read them again."""
    g.calango_settings_primed = values


def primed_keys() -> tuple[str, str, str]:
    """The settings the send reads with its provider: language, theme, last choice."""
    return LANGUAGE_KEY, THEME_KEY, LAST_CHOICE_KEY


def put_setting(key: str, value: Any) -> None:
    """Write a setting in the current transaction (the caller commits)."""
    Setting.put(key, value)
    g.pop("calango_settings", None)
    g.pop("calango_settings_primed", None)


def saved_theme() -> str:
    """The saved theme id, or the default."""
    value = _safe_get(THEME_KEY)
    return value if value in THEMES else DEFAULT_THEME


def saved_language() -> str | None:
    """The saved language code, or None to follow the browser."""
    value = _safe_get(LANGUAGE_KEY)
    return value or None


def save_appearance(theme: str, language: str | None) -> None:
    """Persist theme and language (empty language = follow the browser)."""
    put_setting(THEME_KEY, theme)
    put_setting(LANGUAGE_KEY, language or None)
    db.session.commit()


def last_chat_choice() -> dict[str, Any]:
    """The provider, model and persona used last: their names, and the ids of the provider
    and persona (they survive renames). Keys may be missing."""
    value = _safe_get(LAST_CHOICE_KEY)
    return value if isinstance(value, dict) else {}


def remember_chat_choice(provider: Provider, model: str, persona: Persona | None) -> None:
    """Record the last (provider, model) pair and persona in the current transaction (the
    caller commits)."""
    choice: dict[str, Any] = {
        "provider": provider.name,
        "provider_id": provider.id,
        "model": model,
        "persona": persona.name if persona is not None else "",
        "persona_id": persona.id if persona is not None else None,
    }
    if last_chat_choice() != choice:  # most sends repeat the last choice: no write, no lock
        put_setting(LAST_CHOICE_KEY, choice)
