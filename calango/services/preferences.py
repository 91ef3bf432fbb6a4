"""User preferences kept in the settings table: theme, language, last choices in the chat."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from calango.extensions import db
from calango.models import Setting
from calango.themes import DEFAULT_THEME, THEMES

THEME_KEY = "theme"
LANGUAGE_KEY = "language"
LAST_CHOICE_KEY = "last_chat_choice"


def _safe_get(key: str) -> Any:
    # Error pages render the layout too; a broken database must not break them.
    try:
        return Setting.get(key)
    except SQLAlchemyError:
        db.session.rollback()
        return None


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
    Setting.put(THEME_KEY, theme)
    Setting.put(LANGUAGE_KEY, language or None)
    db.session.commit()


def last_chat_choice() -> dict[str, str]:
    """The provider, model and persona used last (keys may be missing)."""
    value = _safe_get(LAST_CHOICE_KEY)
    return value if isinstance(value, dict) else {}


def remember_chat_choice(provider: str, model: str, persona: str | None) -> None:
    """Record the last provider/model/persona in the current transaction (caller commits)."""
    Setting.put(LAST_CHOICE_KEY, {"provider": provider, "model": model, "persona": persona or ""})
