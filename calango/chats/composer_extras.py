"""What the composer offers beyond provider, model and persona: model parameters (with the
persona's defaults), the profile toggle, a persona's starters on an empty chat, and starting a
chat from a persona (``/?persona=<id>``: its default provider and model preselected)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import format_decimal
from werkzeug.datastructures import FileStorage, MultiDict

from calango.accounts import current_user_id
from calango.chats.forms import MessageForm
from calango.llm import ChatParams
from calango.models import ChatSession
from calango.services import parameters
from calango.services.chat_totals import ChatTotals, chat_totals
from calango.services.composer import ComposerOptions, model_value
from calango.services.file_intake import Upload
from calango.services.personas import find_visible
from calango.services.profile import load_profile
from calango.services.spend_cap import default_cap


@dataclass
class ComposerExtras:
    """What the chat page shows besides the menus."""

    profile_available: bool = False
    starters: list[str] = field(default_factory=list)
    defaults: ChatParams = field(default_factory=ChatParams)
    totals: ChatTotals | None = None
    default_cap: Decimal | None = None  # the user's cap for chats that set none


def _as_text(value: float | int | None) -> str:
    return "" if value is None else str(value)


def prefill(
    form: MessageForm,
    chat: ChatSession | None,
    options: ComposerOptions,
    persona_id: int | None = None,
) -> ComposerExtras:
    """Preselect the chat's parameters and profile toggle (or a persona's defaults for a new
    chat started from it), and say what else the composer shows."""
    extras = ComposerExtras(profile_available=load_profile().active)
    if chat is not None:
        extras.totals = chat_totals(chat.id)
    submitted = form.is_submitted()
    if not submitted:
        form.profile.data = chat is None or chat.profile_enabled is not False
        form.profile_offered.data = "1" if extras.profile_available else ""
    if chat is None and persona_id is not None and not submitted:
        persona = find_visible(persona_id, current_user_id())  # another user's: ignored
        if persona is not None:
            form.persona.data = persona.name
            for provider in options.providers:
                if provider.name == persona.default_provider:
                    form.provider.data = provider.name
                    if persona.default_model in provider.models:
                        form.model.data = model_value(provider.id, persona.default_model)
    persona = next((p for p in options.personas if p.name == form.persona.data), None)
    if persona is not None:
        extras.defaults = parameters.from_json(persona.params)
        if chat is None:
            extras.starters = list(persona.starters or [])
    if not submitted:
        chosen = parameters.from_json(chat.params if chat is not None else None)
        form.temperature.data = _as_text(chosen.temperature)
        form.max_tokens.data = _as_text(chosen.max_tokens)
        form.effort.data = chosen.effort or ""
        cap = chat.spend_cap_usd if chat is not None else None
        form.spend_cap.data = "" if cap is None else format_decimal(cap, format="0.00##")
    extras.default_cap = default_cap()
    return extras


def send_options(posted: Mapping[str, str]) -> parameters.SendOptions:
    """The composer's parameters as typed and its profile toggle (``None`` when the page did
    not offer it: a script or an older page). ``posted``: the request's form, read by the
    names :class:`MessageForm` gives its fields (the send does not build the form: binding
    its fields cost more CPU than the rest of the request's reading)."""
    profile = posted.get("profile")
    return parameters.SendOptions(
        temperature=posted.get("temperature"),
        max_tokens=posted.get("max_tokens"),
        effort=posted.get("effort"),
        # As a BooleanField reads a checkbox: absent, "" or "false" is off.
        profile=profile not in (None, "", "false") if posted.get("profile_offered") else None,
        # Only when the page offered the field: a script or an older page keeps the cap.
        spend_cap=(posted.get("spend_cap") or "") if "spend_cap" in posted else None,
    )


def message_text(posted: Mapping[str, str]) -> str:
    """The message: what was typed, or the starter prompt clicked without the script."""
    typed = posted.get("content") or ""
    starter = posted.get("starter") or ""
    return typed if typed.strip() or not starter else starter


def uploads(files: MultiDict[str, FileStorage]) -> list[Upload]:
    """The attached files as sent (an empty file input sends one nameless part: skipped).
    Each is read up to one byte past the size limit: enough to refuse it by name."""
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    found = []
    for storage in files.getlist("files"):
        if not getattr(storage, "filename", None):
            continue
        data = storage.stream.read(limit + 1)
        found.append(Upload(storage.filename, data, storage.mimetype or ""))
    return found


def pending_files(form: Any) -> tuple[int, list[tuple[int, int]]]:
    """What the estimate's script says of the files about to be attached: their text's
    characters and each picture's (width, height). Hostile input is bounded, not trusted:
    it only moves an estimate (the send counts the files themselves)."""
    config = current_app.config
    most = config["MAX_ATTACHMENTS"]
    try:
        chars = int(str(form.get("attached_chars") or "0")[:12])
    except ValueError:
        chars = 0
    chars = min(max(chars, 0), most * config["MAX_ATTACHMENT_BYTES"])
    images: list[tuple[int, int]] = []
    for item in str(form.get("attached_images") or "")[:400].split(",")[:most]:
        width, _x, height = item.partition("x")
        if width.isdigit() and height.isdigit():
            images.append((min(int(width), 100_000), min(int(height), 100_000)))
    return chars, images
