"""Personas: create, rename, rewrite and delete named system prompts.

Chats refer to their persona by id (``ChatSession.persona_id``), so a renamed persona stays
with its chats; they also keep the name it had when used, as a label. Deleting a persona sets
its chats' id to NULL (the chat page then says so and the composer offers the default).

Each persona has an owner; a user sees their own and the ones an admin shared
(``is_shared``), which only admins may change. Names are unique per owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import g
from sqlalchemy import BindParameter, and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from calango.accounts import current_user_id
from calango.extensions import db
from calango.models import ChatSession, Persona
from calango.services.names import check_name_free, commit_named


def visible_to(user_id: int | BindParameter[Any]) -> ColumnElement[bool]:
    """The personas ``user_id`` may see and pick: their own and the shared ones."""
    return or_(Persona.owner_id == user_id, Persona.is_shared.is_(True))


def visible_personas(user_id: int) -> list[Persona]:
    """The personas ``user_id`` may see and pick, by name (ignoring case); the chat's and
    the arena's persona pickers use this."""
    query = select(Persona).where(visible_to(user_id)).order_by(Persona.name_key, Persona.id)
    return list(db.session.scalars(query))


def list_personas(user_id: int | None = None) -> list[Persona]:
    """The personas of ``user_id`` (default: the current user) and the shared ones."""
    return visible_personas(user_id if user_id is not None else current_user_id())


def find_visible(persona_id: int, user_id: int) -> Persona | None:
    """The persona ``persona_id`` if ``user_id`` may see it."""
    query = select(Persona).where(Persona.id == persona_id, visible_to(user_id))
    return db.session.scalars(query).first()


def may_edit(persona: Persona, user_id: int, admin: bool) -> bool:
    """Whether ``user_id`` (an admin or not) may change ``persona``: their own unshared one,
    or any visible one for an admin."""
    if admin:
        return persona.owner_id == user_id or bool(persona.is_shared)
    return persona.owner_id == user_id and not persona.is_shared


def _owned_by(owner_id: int) -> ColumnElement[bool]:
    return Persona.owner_id == owner_id


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


def create_persona(
    name: str,
    prompt: str,
    details: PersonaDetails | None = None,
    owner_id: int | None = None,
    shared: bool = False,
) -> Persona:
    """Add a persona of ``owner_id`` (default: the current user), shared with everyone when
    ``shared`` (the caller checked it is an admin); raises
    :class:`~calango.services.names.NameTaken` when the owner already uses the name."""
    owner = owner_id if owner_id is not None else current_user_id()
    name = name.strip()
    check_name_free(Persona, name, scope=_owned_by(owner))
    persona = Persona(
        name=name, prompt=prompt, has_avatar_image=False, owner_id=owner, is_shared=shared
    )
    _apply(persona, details or PersonaDetails())
    db.session.add(persona)
    commit_named(Persona, name, scope=_owned_by(owner))
    return persona


def update_persona(
    persona: Persona,
    name: str,
    prompt: str,
    details: PersonaDetails | None = None,
    shared: bool | None = None,
) -> Persona:
    """Rename and/or rewrite ``persona``; raises :class:`~calango.services.names.NameTaken`.

    Changing only the case of its own name ("python expert" → "Python Expert") is allowed.
    Chats that used the old name keep showing it. Without ``details`` the rest is kept;
    ``shared`` (an admin's choice) shares or unshares it, ``None`` keeps it.
    """
    name = name.strip()
    scope = _owned_by(persona.owner_id)
    check_name_free(Persona, name, exclude_id=persona.id, scope=scope)
    persona.name = name
    persona.prompt = prompt
    if details is not None:
        _apply(persona, details)
    if shared is not None:
        persona.is_shared = shared
    commit_named(Persona, name, exclude_id=persona.id, scope=scope)
    return persona


def avatar_png(persona_id: int, user_id: int | None = None) -> bytes | None:
    """The stored avatar image of a persona ``user_id`` (default: the current user) may see
    (loaded only here: it is deferred)."""
    viewer = user_id if user_id is not None else current_user_id()
    query = select(Persona.avatar_image).where(Persona.id == persona_id, visible_to(viewer))
    return db.session.scalar(query)


@dataclass(frozen=True)
class AvatarInfo:
    """How a persona looks in menus and on answers."""

    persona_id: int
    emoji: str | None
    has_image: bool
    version: int  # changes with the persona, so the image URL changes with it


def avatar_from(
    persona_id: int, emoji: str | None, has_image: bool | None, updated: Any
) -> AvatarInfo:
    """An avatar from a persona's columns (``AVATAR_COLUMNS``, in that order)."""
    return AvatarInfo(
        persona_id, emoji, bool(has_image), int(updated.timestamp()) if updated else 0
    )


AVATAR_COLUMNS = (Persona.id, Persona.avatar_emoji, Persona.has_avatar_image, Persona.updated_at)


def avatar_of(persona: Persona) -> AvatarInfo:
    """``persona``'s avatar, from its loaded row."""
    return avatar_from(
        persona.id, persona.avatar_emoji, persona.has_avatar_image, persona.updated_at
    )


def prime_avatar(persona: Persona) -> None:
    """Remember ``persona``'s avatar for this request (the send read its row already), so
    that the answer's bubble does not read every persona's avatar again."""
    prime_avatars({persona.name: avatar_of(persona)})


def prime_avatars(avatars: dict[str, AvatarInfo | None]) -> None:
    """Remember the avatars of the personas this request's bubbles show, read by a query of
    the caller (``None``: that name has no persona the viewer may see)."""
    g.calango_avatar_primed = avatars


def primed_avatars() -> dict[str, AvatarInfo | None]:
    """What :func:`prime_avatars` remembered in this request (empty when nothing was)."""
    return g.get("calango_avatar_primed") or {}


def avatars_by_name(user_id: int | None = None) -> dict[str, AvatarInfo]:
    """The avatar of every persona ``user_id`` (default: the current user) may see, by name
    (one small query; images are not loaded). Their own win over shared namesakes."""
    viewer = user_id if user_id is not None else current_user_id()
    mine_last = case((Persona.owner_id == viewer, 1), else_=0)
    rows = db.session.execute(
        select(Persona.name, *AVATAR_COLUMNS)
        .where(visible_to(viewer))
        .order_by(mine_last, Persona.id)
    )
    return {name: avatar_from(*columns) for name, *columns in rows}


def delete_persona(persona: Persona) -> str:
    """Delete ``persona`` and return its name; chats that used it are left as they are."""
    name = persona.name
    db.session.delete(persona)
    db.session.commit()
    return name


def chats_using(persona: Persona, user_id: int | None = None) -> int:
    """How many chats of ``user_id`` (default: the current user) use this persona (imported
    chats, linked by name only, included)."""
    viewer = user_id if user_id is not None else current_user_id()
    linked = ChatSession.persona_id == persona.id
    by_name = and_(ChatSession.persona_id.is_(None), ChatSession.persona == persona.name)
    query = (
        select(func.count())
        .select_from(ChatSession)
        .where(ChatSession.owner_id == viewer, or_(linked, by_name))
    )
    return db.session.scalar(query) or 0
