"""Messages with pictures: an image travels beside a message's text as an ``ImagePart`` and
each protocol gets it in its own form.

A context message is ``{"role", "content": str}`` plus, for a user turn with pictures,
``"images": [ImagePart, ...]``. Text files are already part of ``content`` (the chat service
joins them as delimited blocks), so only images need a per-protocol shape:

- OpenAI-compatible servers (and Gemini, whose adapter speaks Google's OpenAI-compatible
  endpoint, which turns a ``data:`` URL into its own ``inline_data``): ``content`` becomes a
  list of ``{"type": "text"}`` and ``{"type": "image_url", "image_url": {"url": "data:…"}}``
  parts.
- Anthropic: a list of ``{"type": "image", "source": {"type": "base64", "media_type", "data"}}``
  blocks, then the text block (Anthropic advises pictures before the question).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ImagePart:
    """A picture sent with a message: its bytes (PNG or JPEG made by the server), type and
    size in pixels (for the token estimate)."""

    mime: str
    data: bytes
    width: int = 0
    height: int = 0

    def __repr__(self) -> str:  # never dump the bytes into a log line
        return f"ImagePart({self.mime}, {self.width}×{self.height}, {len(self.data)} bytes)"

    def base64(self) -> str:
        """The bytes in base64, as both protocols carry them."""
        return base64.b64encode(self.data).decode("ascii")


def image_tokens(width: int, height: int) -> int:
    """A picture's estimated input tokens: about one per 750 pixels (Anthropic's published
    rule, close to OpenAI's tiles for the sizes Calango sends), at least 85."""
    if width <= 0 or height <= 0:
        return 85
    return max(85, math.ceil(width * height / 750))


def images_of(message: dict[str, Any]) -> list[ImagePart]:
    """The pictures a context message carries (none for most)."""
    return list(message.get("images") or ())


def openai_message(message: dict[str, Any]) -> dict[str, Any]:
    """A context message as the OpenAI chat-completions API (and Gemini's compatible endpoint)
    takes it."""
    images = images_of(message)
    if not images:
        return {"role": message["role"], "content": message["content"]}
    parts: list[dict[str, Any]] = []
    if message["content"]:
        parts.append({"type": "text", "text": message["content"]})
    for image in images:
        url = f"data:{image.mime};base64,{image.base64()}"
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return {"role": message["role"], "content": parts}


def anthropic_message(message: dict[str, Any]) -> dict[str, Any]:
    """A context message as Anthropic's Messages API takes it."""
    images = images_of(message)
    if not images:
        return {"role": message["role"], "content": message["content"]}
    blocks: list[dict[str, Any]] = [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": image.mime, "data": image.base64()},
        }
        for image in images
    ]
    if message["content"]:
        blocks.append({"type": "text", "text": message["content"]})
    return {"role": message["role"], "content": blocks}
