"""The built-in personas in the user's language.

``flask db upgrade`` seeds "Calango (Default)" and "Python Expert" in English for the local
user. The first time someone opens the chat or the personas pages, the seeded personas that
are still exactly as seeded are renamed and re-prompted in that visitor's language; from then
on they are the user's to edit and are never touched again. A SERVER user gets their own copy
of both, in their language, on that same first visit (one marker in their settings). The rows
keep ``updated_at == created_at``, so backups still see an untouched database
(``calango.services.backups.table_copy.SEEDED_PERSONAS`` lists the translated names too).
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, request
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from calango.accounts import current_user_id
from calango.extensions import db
from calango.models import Persona, User
from calango.models.names import normalize_name
from calango.models.types import utcnow
from calango.services import preferences

log = logging.getLogger(__name__)

# Set (to the language used) once the built-in personas were given a language.
LOCALIZED_KEY = "builtin_personas_language"
DEFAULT_PROMPT = "You are a helpful AI assistant."
PYTHON_PROMPT = (
    "You are a Senior Python Engineer. Answer with idiomatic, typed, tested Python, explain "
    "trade-offs briefly and point out pitfalls."
)
_PAGES = ("chats", "personas")


def _translations() -> dict[tuple[str, str], tuple[str, str]]:
    """(seeded name, seeded prompt) → (name, prompt) in the current locale."""
    return {
        ("Calango (Default)", DEFAULT_PROMPT): (
            _("Calango (Default)"),
            _("You are a helpful AI assistant."),
        ),
        ("Python Expert", PYTHON_PROMPT): (
            _("Python Expert"),
            _(
                "You are a Senior Python Engineer. Answer with idiomatic, typed, tested "
                "Python, explain trade-offs briefly and point out pitfalls."
            ),
        ),
    }


def _names_in_every_language(english: str) -> frozenset[str]:
    """``english`` and its translations, worked out once per app (every send asks: switching
    the locale for each language costs more than the send's own lookup)."""
    known = current_app.extensions.setdefault("calango.builtin_names", {})
    names = known.get(english)
    if names is None:
        found = {english}
        for language in current_app.config["LANGUAGES"]:
            with force_locale(language):
                found.add(_(english))  # the literal msgids are in _translations()
        names = known[english] = frozenset(found)
    return names


def persona_name_keys(name: str) -> list[str]:
    """The name keys a persona asked for as ``name`` may have, the exact one first: a
    built-in persona's name in another language (a form or a script written before the
    built-in personas took the user's language) finds it too. Reads nothing: the caller
    matches these keys in its own query."""
    keys = [normalize_name(name)]
    for english in ("Calango (Default)", "Python Expert"):
        names = _names_in_every_language(english)
        if name in names:
            keys += sorted({normalize_name(other) for other in names} - {keys[0]})
    return keys


def default_persona_names() -> frozenset[str]:
    """The default persona's name in every language Calango speaks (the composer preselects
    whichever of them exists)."""
    return _names_in_every_language("Calango (Default)")


def seed_builtin_personas(user_id: int, language: str) -> int:
    """Give a new SERVER user the built-in personas, in ``language``, as if seeded (their
    ``updated_at`` equals ``created_at``); the ones whose name they already use are skipped.
    Returns how many were added; the caller commits."""
    with force_locale(language):
        translations = _translations()
    added = 0
    now = utcnow()
    for name, localized_prompt in translations.values():
        taken = db.session.scalars(
            Persona.select_by_name(name).where(Persona.owner_id == user_id)
        ).first()
        if taken is not None:
            continue
        persona = Persona(
            name=name,
            prompt=localized_prompt,
            owner_id=user_id,
            is_shared=False,
            has_avatar_image=False,
            created_at=now,
            updated_at=now,
        )
        db.session.add(persona)
        added += 1
    return added


def localize_builtin_personas(language: str, user_id: int | None = None) -> int:
    """Give ``user_id``'s (default: the current user's) untouched seeded personas
    ``language``'s names and prompts, once; returns how many were changed. Commits (the
    marker is written whatever the language)."""
    owner = user_id if user_id is not None else current_user_id()
    changed = 0
    with force_locale(language):
        translations = _translations()
    for persona in db.session.scalars(Persona.select_all().where(Persona.owner_id == owner)):
        target = translations.get((persona.name, persona.prompt))
        if target is None or persona.updated_at != persona.created_at:
            continue
        name, prompt = target
        if (name, prompt) == (persona.name, persona.prompt):
            continue
        taken = db.session.scalars(
            Persona.select_by_name(name).where(Persona.owner_id == owner)
        ).first()
        if taken is not None and taken.id != persona.id:
            continue
        created = persona.created_at
        persona.name, persona.prompt = name, prompt
        persona.updated_at = created  # still as seeded, for backups' "empty database" check
        changed += 1
    preferences.put_setting(LOCALIZED_KEY, language, user_id=owner)
    db.session.commit()
    return changed


def give_builtin_personas(user_id: int, language: str) -> int:
    """The built-in personas of ``user_id`` in ``language``, once: the DESKTOP user's were
    seeded by the migration and are translated; a SERVER user's are created. Commits."""
    user = db.session.get(User, user_id)
    if user is not None and not user.is_local:
        seed_builtin_personas(user_id, language)
    return localize_builtin_personas(language, user_id)


_NOT_PAGES = frozenset({"chats.stream", "chats.sidebar_fragment"})


def _on_first_visit() -> None:
    if request.method != "GET" or (request.blueprint not in _PAGES and request.endpoint != "home"):
        return
    if request.endpoint in _NOT_PAGES:
        return  # an answer's event stream, a fragment: the page that opened it did this
    if preferences.setting_value(LOCALIZED_KEY) is not None:
        return  # the usual case: read from the settings already loaded for the theme
    user_id = preferences.viewer_id()
    if user_id is None:
        return  # nobody signed in (SERVER): the sign-in page comes first
    try:
        give_builtin_personas(user_id, str(get_locale() or "en"))
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not localize the built-in personas", exc_info=True)


def init_app(app: Flask) -> None:
    """Localize the built-in personas on the first visit to the chat or personas pages."""
    app.before_request(_on_first_visit)
