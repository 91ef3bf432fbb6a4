"""Personas: create, rename, rewrite and delete named system prompts.

Chats keep the persona's *name* as plain text, so deleting or renaming a persona never touches
an existing conversation.
"""

from __future__ import annotations

from sqlalchemy import func, select

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
    """How many chats were started with this persona (by name)."""
    return (
        db.session.scalar(
            select(func.count()).select_from(ChatSession).where(ChatSession.persona == persona.name)
        )
        or 0
    )
