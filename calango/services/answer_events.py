"""What a follower of an answer receives (the Server-Sent Events of the chat page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Delta:
    """New text; ``offset`` is the length of the text after it (the SSE event id)."""

    text: str
    offset: int


@dataclass(frozen=True)
class Keepalive:
    """Nothing new: a comment keeps proxies from closing the connection and reveals dead
    clients (they are only noticed when the server writes)."""


@dataclass(frozen=True)
class Done:
    """The answer ended with ``status`` (``None``: the message is gone).

    ``values`` are the final column values when the producer ran in this process (status,
    error, usage, cost, timings, content and its HTML), so the message can be rendered
    without reading it again; empty when it ended elsewhere (the row has them)."""

    status: str | None
    values: dict[str, Any] = field(default_factory=dict)


StreamEvent = Delta | Keepalive | Done
