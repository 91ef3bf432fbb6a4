"""Personas: create, rename, rewrite and delete named system prompts.

Chats refer to their persona by id (``ChatSession.persona_id``), so a renamed persona stays
with its chats; they also keep the name it had when used, as a label. Deleting a persona sets
its chats' id to NULL (the chat page then says so and the composer offers the default).
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select

from calango.extensions import db
from calango.models import ChatSession, Persona
from calango.services.names import check_name_free, commit_named


def list_personas() -> list[Persona]:
    """Every persona, by name (ignoring case)."""
    return list(db.session.scalars(Persona.select_all()))


def create_persona(name: str, prompt: str) -> Persona:
    """Add a persona; raises :class:`~calango.services.names.NameTaken` when the name is used."""
    name = name.strip()
    check_name_free(Persona, name)
    persona = Persona(name=name, prompt=prompt)
    db.session.add(persona)
    commit_named(Persona, name)
    return persona


def update_persona(persona: Persona, name: str, prompt: str) -> Persona:
    """Rename and/or rewrite ``persona``; raises :class:`~calango.services.names.NameTaken`.

    Changing only the case of its own name ("python expert" → "Python Expert") is allowed.
    Chats that used the old name keep showing it.
    """
    name = name.strip()
    check_name_free(Persona, name, exclude_id=persona.id)
    persona.name = name
    persona.prompt = prompt
    commit_named(Persona, name, exclude_id=persona.id)
    return persona


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
