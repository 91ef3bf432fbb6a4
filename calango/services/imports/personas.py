"""Personas found in an imported file: matched by name with the ones already here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from calango.extensions import db
from calango.models import Persona
from calango.services.imports import ImportSummary
from calango.services.imports.owner import import_owner


def import_persona(
    name: str,
    prompt: str,
    summary: ImportSummary,
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Create the persona, or count it as present; one of the same name (any case) with
    another prompt is kept as it is, and reported. ``details`` (description, avatar, traits,
    starters, defaults: checked columns) go to a persona created here."""
    owner = import_owner()
    mine = Persona.select_by_name(name).where(Persona.owner_id == owner)
    persona = db.session.scalars(mine.limit(1)).first()
    if persona is None:
        db.session.add(
            Persona(
                owner_id=owner,
                name=name,
                prompt=prompt,
                created_at=created_at,
                updated_at=updated_at,
                **(details or {}),
            )
        )
        db.session.flush()
        summary.imported["personas"] += 1
    elif persona.prompt.strip() == prompt.strip():
        summary.present["personas"] += 1
    else:
        summary.skipped.append(
            _(
                "Persona %(name)s: one with this name exists with another prompt; yours was kept.",
                name=name,
            )
        )
