"""ChatGPT data exports made to order: conversations.json items with a mapping tree, edited
branches, system and tool nodes; and a writer that streams a big file for the benchmark."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

T0 = 1_700_000_000.0


def node(
    node_id: str,
    parent: str | None,
    role: str | None,
    text: Any = "",
    t: float | None = None,
    children: list[str] | None = None,
    **message: Any,
) -> dict[str, Any]:
    """One node of a conversation's mapping (``role=None`` for the empty root)."""
    entry: dict[str, Any] = {"id": node_id, "parent": parent, "children": children or []}
    if role is None:
        entry["message"] = None
        return entry
    content = message.pop("content", None) or {"content_type": "text", "parts": [text]}
    entry["message"] = {
        "id": node_id,
        "author": {"role": role, "name": None, "metadata": {}},
        "create_time": t,
        "content": content,
        "status": "finished_successfully",
        "metadata": message.pop("metadata", {}),
        "recipient": message.pop("recipient", "all"),
        **message,
    }
    return entry


def linear(conv_id: str, title: str, texts: list[str], model: str = "gpt-4o") -> dict[str, Any]:
    """A conversation without edits: root, a hidden system prompt, then user/assistant turns."""
    mapping = {
        "root": node("root", None, None, children=["sys"]),
        "sys": node(
            "sys", "root", "system", "", T0, metadata={"is_visually_hidden_from_conversation": True}
        ),
    }
    parent = "sys"
    for i, text in enumerate(texts):
        node_id = f"{conv_id}-n{i}"
        role = "user" if i % 2 == 0 else "assistant"
        meta = {"model_slug": model} if role == "assistant" else {}
        mapping[node_id] = node(node_id, parent, role, text, T0 + 60 * i, metadata=meta)
        mapping[parent]["children"].append(node_id)
        parent = node_id
    return {
        "title": title,
        "create_time": T0,
        "update_time": T0 + 60 * len(texts),
        "mapping": mapping,
        "current_node": parent,
        "conversation_id": conv_id,
        "id": conv_id,
        "default_model_slug": model,
    }


def write_big_export(handle: IO[str], conversations: int, turns: int, text_size: int) -> None:
    """Write a conversations.json of ``conversations`` × ``turns`` messages, streamed."""
    handle.write("[")
    for index, item in enumerate(_many(conversations, turns, text_size)):
        handle.write(("," if index else "") + json.dumps(item))
    handle.write("]")


def _many(conversations: int, turns: int, text_size: int) -> Iterator[dict[str, Any]]:
    filler = ("Lorem ipsum dolor sit amet, calango. " * (text_size // 36 + 1))[:text_size]
    for c in range(conversations):
        yield linear(f"conv-{c:07d}", f"Conversation {c}", [f"{i} {filler}" for i in range(turns)])
