"""Personas: create, rename, rewrite and delete named system prompts.

Chats keep the persona's *name* as plain text, so deleting or renaming a persona never touches
an existing conversation.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from calango.extensions import db
from calango.models import ChatSession, Persona

NAME_MAX = 80
PROMPT_MAX = 20_000


class PersonaNameTaken(Exception):
    """Another persona already has this name (names are unique regardless of case)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def list_personas() -> list[Persona]:
    """Every persona, by name (case-insensitive)."""
    return list(db.session.scalars(Persona.select_all()))


def name_taken(name: str, exclude_id: int | None = None) -> bool:
    """Whether another persona (not ``exclude_id``) has ``name``, ignoring case."""
    # Compared in Python: SQLite's lower() only folds ASCII, so "Ipê" and "IPÊ" would both
    # pass a SQL check there. There are tens of personas, not thousands.
    wanted = name.strip().casefold()
    rows = db.session.execute(select(Persona.id, Persona.name)).all()
    return any(row.name.casefold() == wanted and row.id != exclude_id for row in rows)


def _commit_or_name_taken(name: str, exclude_id: int | None = None) -> None:
    # The unique constraint is case-sensitive; the check before the write covers case, and this
    # catches two writers racing for exactly the same name. Any other integrity error is a bug
    # and must not be reported to the user as a name clash.
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if name_taken(name, exclude_id=exclude_id):
            raise PersonaNameTaken(name) from None
        raise


def create_persona(name: str, prompt: str) -> Persona:
    """Add a persona; raises :class:`PersonaNameTaken` when the name is used (any case)."""
    name = name.strip()
    if name_taken(name):
        raise PersonaNameTaken(name)
    persona = Persona(name=name, prompt=prompt)
    db.session.add(persona)
    _commit_or_name_taken(name)
    return persona


def update_persona(persona: Persona, name: str, prompt: str) -> Persona:
    """Rename and/or rewrite ``persona``; raises :class:`PersonaNameTaken` on a clash.

    Changing only the case of its own name ("python expert" → "Python Expert") is allowed.
    Chats that used the old name keep showing it.
    """
    name = name.strip()
    if name_taken(name, exclude_id=persona.id):
        raise PersonaNameTaken(name)
    persona.name = name
    persona.prompt = prompt
    _commit_or_name_taken(name, exclude_id=persona.id)
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
