"""Following an answer while it is written, from any worker or instance.

In the process that runs the producer the text arrives through an in-process queue, chunk by
chunk; anywhere else the message row is followed in the database (the producer writes it
about once a second). Either way the follower sees the same text and the same final state.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from calango.extensions import db
from calango.models import ChatMessage, MessageStatus
from calango.models.types import utcnow
from calango.services.generation import lease_seconds, mark_abandoned_streams, registry

KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 0.3
# Until the first text shows up, poll faster: the producer writes its first text at once, and
# that first token is the latency users feel. Afterwards it writes about once a second.
FIRST_TEXT_POLL_SECONDS = 0.1


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
    """The answer ended with ``status`` (or the message is gone: ``status`` is None)."""

    status: str | None


StreamEvent = Delta | Keepalive | Done


def follow_answer(
    message_id: int,
    offset: int = 0,
    keepalive: float = KEEPALIVE_SECONDS,
    poll: float = POLL_SECONDS,
) -> Iterator[StreamEvent]:
    """Yield the answer's text from ``offset`` on, until it is finished."""
    generation = registry().get(message_id)
    if generation is not None:
        text, listener = generation.subscribe()
        try:
            if len(text) > offset:
                yield Delta(text[offset:], len(text))
                offset = len(text)
            while listener is not None:
                try:
                    kind, payload = listener.get(timeout=keepalive)
                except queue.Empty:
                    yield Keepalive()
                    continue
                if kind != "delta":
                    break
                offset += len(payload)
                yield Delta(payload, offset)
        finally:
            if listener is not None:
                generation.unsubscribe(listener)
    yield from _follow_row(message_id, offset, keepalive, poll)


def _follow_row(
    message_id: int, offset: int, keepalive: float, poll: float
) -> Iterator[StreamEvent]:
    last_write = time.monotonic()
    while True:
        row = db.session.execute(
            select(ChatMessage.content, ChatMessage.status, ChatMessage.heartbeat_at).where(
                ChatMessage.id == message_id
            )
        ).first()
        # End the read transaction: the next poll must see the producer's new writes, and an
        # idle follower must not hold a connection.
        db.session.close()
        if row is None:
            yield Done(None)
            return
        content, status, heartbeat_at = row
        if len(content) > offset:
            yield Delta(content[offset:], len(content))
            offset = len(content)
            last_write = time.monotonic()
        if status != MessageStatus.STREAMING:
            yield Done(status)
            return
        stale = utcnow() - timedelta(seconds=lease_seconds())
        if heartbeat_at is None or heartbeat_at < stale:
            # Its producer died with its process: say so instead of waiting forever.
            mark_abandoned_streams()
            continue
        if time.monotonic() - last_write >= keepalive:
            yield Keepalive()
            last_write = time.monotonic()
        time.sleep(min(poll, FIRST_TEXT_POLL_SECONDS) if offset == 0 else poll)
