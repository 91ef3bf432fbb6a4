"""Preferences: each person's own (theme, language, last choices, profile…) in
``user_settings``, and the instance-wide ones (model-named titles, network policy,
registration…) in ``settings``. Both are read in one query per request."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import BindParameter, ScalarSelect, select, union_all
from sqlalchemy.exc import SQLAlchemyError

from calango.accounts import current_user_id, is_server, local_user_id
from calango.extensions import db
from calango.models import Persona, Provider, Setting, UserSetting
from calango.themes import DEFAULT_THEME, THEMES

THEME_KEY = "theme"
LANGUAGE_KEY = "language"
LAST_CHOICE_KEY = "last_chat_choice"
LAST_ARENA_CHOICE_KEY = "last_arena_choice"  # services.arena
PROFILE_KEY = "profile"  # the "who I am" profile (services.profile)
BUILTIN_LANGUAGE_KEY = "builtin_personas_language"  # services.builtin_personas
DEFAULT_CAP_KEY = "default_chat_cap_usd"  # a chat's spending cap when it sets none

#: Keys that belong to one person (``user_settings``); every other key is instance-wide.
USER_KEYS = frozenset(
    {
        THEME_KEY,
        LANGUAGE_KEY,
        LAST_CHOICE_KEY,
        LAST_ARENA_CHOICE_KEY,
        PROFILE_KEY,
        BUILTIN_LANGUAGE_KEY,
        DEFAULT_CAP_KEY,
    }
)


def is_user_key(key: str) -> bool:
    """Whether ``key`` is one person's preference (else it is the instance's)."""
    return key in USER_KEYS


def viewer_id() -> int | None:
    """The user whose preferences this request shows: the signed-in one, the local user in
    DESKTOP, ``None`` for an anonymous SERVER visitor (the sign-in page) or outside a
    request in SERVER mode."""
    if not is_server():
        return local_user_id()
    if has_request_context() and current_user.is_authenticated:
        return int(current_user.id)
    return None


def _read_all(user_id: int | None) -> dict[str, Any]:
    """The instance's settings with ``user_id``'s own on top, in one statement."""
    instance = select(Setting.key, Setting.value)
    if user_id is None:
        rows = db.session.execute(instance.where(Setting.key.not_in(USER_KEYS)))
    else:
        own = select(UserSetting.key, UserSetting.value).where(
            UserSetting.user_id == user_id, UserSetting.key.in_(USER_KEYS)
        )
        rows = db.session.execute(union_all(instance.where(Setting.key.not_in(USER_KEYS)), own))
    return {row.key: row.value for row in rows}


def _saved() -> dict[str, Any]:
    """Every setting this request may need, read once per request (theme, language and last
    choice are all needed by most pages: one query instead of three)."""
    cached = g.get("calango_settings")
    if cached is None:
        try:
            cached = _read_all(viewer_id())
        except (SQLAlchemyError, RuntimeError):
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


def setting_value(key: str) -> Any:
    """A setting's value (``None`` when unset), from the settings read once per request."""
    return _safe_get(key)


def prime_settings(values: dict[str, Any]) -> None:
    """Settings a query of the caller already read (the send reads the language and the last
    choice with its provider), so that this request does not read them again."""
    g.calango_settings_primed = values


def primed_keys() -> tuple[str, ...]:
    """The settings the send reads with its provider: language, theme, last choice, the
    profile and the default spending cap of a chat."""
    return LANGUAGE_KEY, THEME_KEY, LAST_CHOICE_KEY, PROFILE_KEY, DEFAULT_CAP_KEY


def primed_columns(user_id: int | BindParameter[Any]) -> list[ScalarSelect[Any]]:
    """Scalar subqueries reading :func:`primed_keys` of ``user_id`` (in that order), for the
    send's single statement (``user_id`` may be a bound parameter: the send builds its
    statement once); hand the values back with :func:`prime_settings`."""
    return [
        select(UserSetting.value)
        .where(UserSetting.user_id == user_id, UserSetting.key == key)
        .scalar_subquery()
        for key in primed_keys()
    ]


def saved_setting(key: str) -> Any:
    """A setting's stored value (``None`` when unset), from this request's read of them."""
    return _safe_get(key)


def saved_value(key: str) -> Any:
    """A saved setting's value (None when missing or unreadable)."""
    return _safe_get(key)


def put_setting(key: str, value: Any, user_id: int | None = None) -> None:
    """Write a setting in the current transaction (the caller commits): a per-person key for
    ``user_id`` (default: the current user), any other key for the whole instance."""
    if is_user_key(key):
        UserSetting.put(user_id if user_id is not None else current_user_id(), key, value)
    else:
        Setting.put(key, value)
    g.pop("calango_settings", None)
    g.pop("calango_settings_primed", None)


def user_value(user_id: int, key: str, default: Any = None) -> Any:
    """One stored setting of ``user_id`` (a per-person key) or of the instance, read now (for
    CLI commands and imports acting for a given user)."""
    if is_user_key(key):
        return UserSetting.get(user_id, key, default)
    return Setting.get(key, default)


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
