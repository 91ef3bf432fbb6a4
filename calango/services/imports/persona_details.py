"""A persona's fields besides name and prompt, read from an imported Calango export.

Everything is bounded as the persona form bounds it; an avatar image is decoded and made
again by ``services.avatars`` (an export is untrusted input, like an upload).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask_babel import gettext as _

from calango.models.names import NAME_MAX
from calango.models.persona import (
    DESCRIPTION_MAX,
    EMOJI_MAX,
    MODEL_MAX,
    STARTER_MAX,
    STARTERS_MAX,
    TRAIT_MAX,
    TRAITS_MAX,
)
from calango.services import parameters
from calango.services.avatars import MAX_UPLOAD_BYTES, AvatarRefused, make_avatar
from calango.services.imports import fields as f

# Base64 grows data by a third.
_AVATAR_TEXT_MAX = MAX_UPLOAD_BYTES * 4 // 3 + 4


def _list(record: dict[str, Any], name: str, count: int, limit: int) -> list[str] | None:
    items = f.strings(record, name, limit)
    if len(items) > count:
        raise f.FieldError(_("%(field)s must be a list of names.", field=name))
    return items or None


def persona_details(record: dict[str, Any]) -> dict[str, Any]:
    """The persona columns the record carries (absent ones are left out: older exports)."""
    values: dict[str, Any] = {
        "description": f.text(record, "description", DESCRIPTION_MAX),
        "avatar_emoji": f.text(record, "avatar_emoji", EMOJI_MAX),
        "traits": _list(record, "traits", TRAITS_MAX, TRAIT_MAX),
        "starters": _list(record, "starters", STARTERS_MAX, STARTER_MAX),
        "default_provider": f.text(record, "default_provider", NAME_MAX),
        "default_model": f.text(record, "default_model", MODEL_MAX),
        "params": parameters.from_json(f.mapping(record, "params", nullable=True)).as_json()
        or None,
    }
    encoded = f.text(record, "avatar_image", _AVATAR_TEXT_MAX)
    if encoded:
        try:
            values["avatar_image"] = make_avatar(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError, AvatarRefused):
            raise f.FieldError(_("%(field)s must be an image.", field="avatar_image")) from None
        values["has_avatar_image"] = True
    return {k: v for k, v in values.items() if v is not None}
