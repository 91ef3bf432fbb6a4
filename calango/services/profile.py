"""The "who I am" profile: a few lines about the user, sent after the persona's prompt.

Stored as one setting (``profile``). When it is enabled and not empty, every chat sends it as
a second system block unless the chat's own toggle (``ChatSession.profile_enabled``) is off;
each answer records whether it was sent (``ChatMessage.profile_sent``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from calango.extensions import db
from calango.models import ChatSession
from calango.services.preferences import PROFILE_KEY, put_setting, saved_setting

SETTING_KEY = PROFILE_KEY
# Bounds of each field, in characters.
LIMITS = {"name": 80, "language": 60, "work": 500, "style": 1000}


@dataclass
class Profile:
    """What the user tells every persona about themselves."""

    enabled: bool = False
    name: str = ""
    language: str = ""
    work: str = ""
    style: str = ""

    @property
    def empty(self) -> bool:
        """Whether no field is filled."""
        return not any((self.name, self.language, self.work, self.style))

    @property
    def active(self) -> bool:
        """Whether it is sent by default."""
        return self.enabled and not self.empty


def sanitized(value: Any) -> dict[str, Any]:
    """A stored or imported profile value, bounded field by field (unknown keys dropped)."""
    if not isinstance(value, dict):
        return asdict(Profile())
    fields: dict[str, Any] = {"enabled": value.get("enabled") is True}
    for key, limit in LIMITS.items():
        text = value.get(key)
        fields[key] = text.strip()[:limit] if isinstance(text, str) else ""
    return fields


def load_profile() -> Profile:
    """The stored profile (bounded again: the setting may come from an import); read with
    this request's other settings (the send primes it in its first statement)."""
    return Profile(**sanitized(saved_setting(SETTING_KEY)))


def save_profile(profile: Profile) -> None:
    """Store ``profile`` (the form has bounded its fields)."""
    put_setting(SETTING_KEY, sanitized(asdict(profile)))
    db.session.commit()


def profile_block(profile: Profile) -> str:
    """The system block sent to the model (in English: it is read by the model, not shown)."""
    lines = ["About the user you are talking with (written by them):"]
    for label, value in (
        ("Call them", profile.name),
        ("Their language", profile.language),
        ("What they do", profile.work),
        ("How they like answers", profile.style),
    ):
        if value:
            lines.append(f"- {label}: {value}")
    return "\n".join(lines)


def block_for(chat: ChatSession | None, toggle: bool | None) -> str | None:
    """The profile block to send in ``chat`` (``None``: not sent).

    ``toggle`` is the composer's checkbox when it was offered; otherwise the chat's own
    choice holds, and a chat that never chose sends it.
    """
    profile = load_profile()
    if not profile.active:
        return None
    wanted = toggle
    if wanted is None:
        wanted = chat.profile_enabled if chat is not None else None
    if wanted is False:
        return None
    return profile_block(profile)
