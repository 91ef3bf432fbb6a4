"""Which models can see pictures: a rule of thumb from model names, since no API says so.

A model is taken to see images when its name (lowercased, any ``vendor/`` prefix of routers
removed) starts with one of ``_VISION_PREFIXES`` and with none of ``_TEXT_ONLY_PREFIXES``, or
contains one of ``_VISION_MARKS`` (open models say so in their names: ``llava``,
``llama3.2-vision``, ``qwen2.5-vl``…). Unknown models are taken to be text-only: refusing a
picture with a clear message is better than a provider error or a model that answers as if it
had seen one. The sends refuse pictures for text-only models before any provider call
(``calango.services.attachments``).
"""

from __future__ import annotations

_VISION_PREFIXES = (
    "gpt-4o",
    "chatgpt-4o",
    "gpt-4.1",
    "gpt-4.5",
    "gpt-4-turbo",
    "gpt-5",
    "o1",
    "o3",
    "o4",
    "claude-3",
    "claude-sonnet-4",
    "claude-opus-4",
    "claude-haiku-4",
    "claude-4",
    "gemini",
    "gemma3",
    "gemma-3",
    "llama-4",
    "llama4",
    "grok-4",
    "mistral-small3.1",
    "mistral-small-3",
    "mistral-medium",
)
# Older or smaller members of those families that read text only.
_TEXT_ONLY_PREFIXES = (
    "o1-mini",
    "o1-preview",
    "o3-mini",
    "gemini-1.0-pro",
    "gemini-pro",  # 1.0 (gemini-pro-vision is caught by "vision" first)
    "gemma3:1b",
    "gemma-3-1b",
)
_VISION_MARKS = (
    "vision",
    "-vl",
    "vl-",
    "llava",
    "pixtral",
    "moondream",
    "minicpm-v",
    "qwen-vl",
    "qvq",
)


def can_see_images(model: str) -> bool:
    """Whether ``model`` is known to take pictures (see the module's rule)."""
    name = (model or "").lower().strip().rsplit("/", 1)[-1]
    if any(mark in name for mark in _VISION_MARKS):
        return True
    if name.startswith(_TEXT_ONLY_PREFIXES):
        return False
    return name.startswith(_VISION_PREFIXES)
