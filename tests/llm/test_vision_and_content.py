"""Which models see pictures, and a picture in each protocol's message form."""

from __future__ import annotations

import pytest

from calango.llm import ImagePart, can_see_images, message_tokens
from calango.llm.content import anthropic_message, openai_message


@pytest.mark.parametrize(
    "model",
    ["gpt-4o", "openai/gpt-4o-mini", "gpt-4.1-nano", "gpt-5", "o3", "claude-3-5-sonnet-latest",
     "claude-sonnet-4-5", "gemini-2.5-flash", "models/gemini-1.5-pro", "llava:13b",
     "llama3.2-vision", "qwen2.5-vl-7b", "gemma3:12b", "pixtral-12b"],
)  # fmt: skip
def test_vision_models(model: str) -> None:
    assert can_see_images(model)


@pytest.mark.parametrize(
    "model", ["gpt-3.5-turbo", "gpt-4", "o3-mini", "o1-mini", "claude-2.1", "llama3.1:8b",
              "mistral-7b", "gemini-pro", "deepseek-chat", "qwen2.5:7b", "fake-model", ""],
)  # fmt: skip
def test_text_only_and_unknown_models(model: str) -> None:
    assert not can_see_images(model)


def test_a_picture_in_each_protocols_form_and_its_tokens() -> None:
    image = ImagePart("image/png", b"\x89PNG", 1500, 1000)
    message = {"role": "user", "content": "What is it?", "images": [image]}
    assert openai_message(message)["content"] == [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}},
    ]
    assert anthropic_message(message)["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": "iVBORw=="}},
        {"type": "text", "text": "What is it?"},
    ]  # fmt: skip
    plain = {"role": "user", "content": "hi"}
    assert openai_message(plain) == anthropic_message(plain) == plain
    assert message_tokens(message) == 3 + 2000  # text, then 1500×1000 / 750
    assert "bytes" in repr(image) and "PNG" not in repr(image)
