"""Personas: create, rename, rewrite and delete named system prompts.

Chats refer to their persona by id (``ChatSession.persona_id``), so a renamed persona stays
with its chats; they also keep the name it had when used, as a label. Deleting a persona sets
its chats' id to NULL (the chat page then says so and the composer offers the default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import g
from sqlalchemy import and_, func, or_, select

from calango.extensions import db
from calango.models import ChatSession, Persona
from calango.services.names import check_name_free, commit_named


def list_personas() -> list[Persona]:
    """Every persona, by name (ignoring case)."""
    return list(db.session.scalars(Persona.select_all()))


@dataclass
class PersonaDetails:
    """What a persona is besides its name and prompt (the form has bounded every field).

    ``avatar_image`` is a PNG made by ``services.avatars.make_avatar`` (``None``: keep the
    stored one); ``remove_image`` drops the stored one.
    """

    description: str = ""
    avatar_emoji: str = ""
    traits: list[str] = field(default_factory=list)
    starters: list[str] = field(default_factory=list)
    default_provider: str = ""
    default_model: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    avatar_image: bytes | None = None
    remove_image: bool = False


def _apply(persona: Persona, details: PersonaDetails) -> None:
    persona.description = details.description or None
    persona.avatar_emoji = details.avatar_emoji or None
    persona.traits = list(details.traits) or None
    persona.starters = list(details.starters) or None
    persona.default_provider = details.default_provider or None
    persona.default_model = details.default_model or None
    persona.params = dict(details.params) or None
    if details.avatar_image is not None:
        persona.avatar_image = details.avatar_image
        persona.has_avatar_image = True
    elif details.remove_image:
        persona.avatar_image = None
        persona.has_avatar_image = False


def create_persona(name: str, prompt: str, details: PersonaDetails | None = None) -> Persona:
    """Add a persona; raises :class:`~calango.services.names.NameTaken` when the name is used."""
    name = name.strip()
    check_name_free(Persona, name)
    persona = Persona(name=name, prompt=prompt, has_avatar_image=False)
    _apply(persona, details or PersonaDetails())
    db.session.add(persona)
    commit_named(Persona, name)
    return persona


def update_persona(
    persona: Persona, name: str, prompt: str, details: PersonaDetails | None = None
) -> Persona:
    """Rename and/or rewrite ``persona``; raises :class:`~calango.services.names.NameTaken`.

    Changing only the case of its own name ("python expert" → "Python Expert") is allowed.
    Chats that used the old name keep showing it. Without ``details`` the rest is kept.
    """
    name = name.strip()
    check_name_free(Persona, name, exclude_id=persona.id)
    persona.name = name
    persona.prompt = prompt
    if details is not None:
        _apply(persona, details)
    commit_named(Persona, name, exclude_id=persona.id)
    return persona


def avatar_png(persona_id: int) -> bytes | None:
    """The stored avatar image of a persona (loaded only here: it is deferred)."""
    return db.session.scalar(select(Persona.avatar_image).where(Persona.id == persona_id))


@dataclass(frozen=True)
class AvatarInfo:
    """How a persona looks in menus and on answers."""

    persona_id: int
    emoji: str | None
    has_image: bool
    version: int  # changes with the persona, so the image URL changes with it


def avatar_of(persona: Persona) -> AvatarInfo:
    """``persona``'s avatar, from its loaded row."""
    updated = persona.updated_at
    return AvatarInfo(
        persona.id,
        persona.avatar_emoji,
        bool(persona.has_avatar_image),
        int(updated.timestamp()) if updated else 0,
    )


def prime_avatar(persona: Persona) -> None:
    """Remember ``persona``'s avatar for this request (the send read its row already), so
    that the answer's bubble does not read every persona's avatar again."""
    g.calango_avatar_primed = {persona.name: avatar_of(persona)}


def primed_avatar(name: str) -> AvatarInfo | None:
    """The avatar :func:`prime_avatar` remembered for ``name`` in this request, if any."""
    primed = g.get("calango_avatar_primed") or {}
    return primed.get(name)


def avatars_by_name() -> dict[str, AvatarInfo]:
    """Every persona's avatar by name (one small query; images are not loaded)."""
    rows = db.session.execute(
        select(
            Persona.id, Persona.name, Persona.avatar_emoji, Persona.has_avatar_image,
            Persona.updated_at,
        )
    )  # fmt: skip
    return {
        name: AvatarInfo(pid, emoji, bool(has_image), int(updated.timestamp()) if updated else 0)
        for pid, name, emoji, has_image, updated in rows
    }


def delete_persona(persona: Persona) -> str:
    """Delete ``persona`` and return its name; chats that used it are left as they are."""
    name = persona.name
    db.session.delete(persona)
    db.session.commit()
    return name


def chats_using(persona: Persona) -> int:
    """How many chats use this persona (imported chats, linked by name only, included)."""
    linked = ChatSession.persona_id == persona.id
    by_name = and_(ChatSession.persona_id.is_(None), ChatSession.persona == persona.name)
    query = select(func.count()).select_from(ChatSession).where(or_(linked, by_name))
    return db.session.scalar(query) or 0
