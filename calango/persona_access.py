"""Persona checks for routes: another user's persona is a 404, never a 403 (its existence is
not disclosed); a shared persona a non-admin may see but not change is a 403."""

from __future__ import annotations

from flask import abort

from calango.access import is_admin
from calango.accounts import current_user_id
from calango.models import Persona
from calango.services import personas


def visible_persona_or_404(persona_id: int) -> Persona:
    """The persona if the current user may see it (their own or a shared one), else 404."""
    persona = personas.find_visible(persona_id, current_user_id())
    if persona is None:
        abort(404)
    return persona


def editable_persona_or_404(persona_id: int) -> Persona:
    """The persona if the current user may change it; 404 for one they cannot see, 403 for a
    shared one when they are not an admin."""
    persona = visible_persona_or_404(persona_id)
    if not personas.may_edit(persona, current_user_id(), is_admin()):
        abort(403)
    return persona
