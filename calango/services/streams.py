"""Following an answer while it is written, from any worker or instance. Followers never
write, except to declare a dead producer's answer interrupted (``mark_interrupted``).

* In the process that runs the producer the text arrives through an in-process queue, chunk
  by chunk, and the ``Done`` event carries the final values.
* Elsewhere on PostgreSQL it arrives by ``LISTEN/NOTIFY`` (``services.answer_bus``): the
  follower subscribes first, reads the row once (the text so far), then appends each piece
  that continues where it is. A gap in offsets, a reconnected listener, the end of the answer
  or a quiet spell makes it read the row again: polling is only the fallback that catches up.
* On SQLite (one process in desktop mode) another instance has no notifications: the quiet
  spell is short and the row is followed by polling.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import select

from calango.extensions import db
from calango.models import ChatMessage, MessageStatus
from calango.models.types import utcnow
from calango.services.answer_bus import Ended, Piece, Resync, bus
from calango.services.answer_events import Delta, Done, Keepalive, StreamEvent
from calango.services.generation import lease_seconds, mark_interrupted, registry

__all__ = ["Delta", "Done", "Keepalive", "StreamEvent", "finished_message", "follow_answer"]

KEEPALIVE_SECONDS = 15.0
# Text is written to a follower at most this often (the first text at once): a fast model's
# 100 tokens a second become 20 writes, not 100; the page repaints every 60 ms anyway.
FRAME_SECONDS = 0.05
# Without notifications (SQLite, a follower of another instance): how often the row is read.
# The row's text grows once a second (the producer's keeper, ``services.generation``).
POLL_SECONDS = 0.3
CATCH_UP_SECONDS = 2.0  # with notifications: read the row after this long without any
GAP_POLL_SECONDS = 0.2  # while text is missing between what we have and what arrived


def follow_answer(
    message_id: int,
    offset: int = 0,
    keepalive: float = KEEPALIVE_SECONDS,
    poll: float = POLL_SECONDS,
) -> Iterator[StreamEvent]:
    """Yield the answer's text from ``offset`` on, then one ``Done``."""
    generation = registry().get(message_id)
    if generation is None:
        yield from _follow_elsewhere(message_id, offset, keepalive, poll)
        return
    text, listener, done = generation.subscribe()
    try:
        if len(text) > offset:
            yield Delta(text[offset:], len(text))
        last_write = 0.0
        while listener is not None:
            try:
                event = listener.get(timeout=keepalive)
            except queue.Empty:
                yield Keepalive()
                continue
            if isinstance(event, Done):
                done = event
                break
            # Text arriving within FRAME_SECONDS of the last write waits for the frame's end
            # and leaves as one event (the page repaints no faster): the first text, and text
            # after a pause, leave at once.
            pieces = [event]
            frame_end = last_write + FRAME_SECONDS
            while (left := frame_end - time.monotonic()) > 0:
                try:
                    more = listener.get(timeout=left)
                except queue.Empty:
                    break
                if isinstance(more, Done):
                    done = more
                    break
                pieces.append(more)
            yield (
                pieces[0]
                if len(pieces) == 1
                else Delta("".join(p.text for p in pieces), pieces[-1].offset)
            )
            last_write = time.monotonic()
            if done is not None:
                break
    finally:
        if listener is not None:
            generation.unsubscribe(listener)
    assert done is not None
    yield done


class _Row:
    """What a follower in another process knows of the answer's row."""

    def __init__(self, message_id: int, offset: int) -> None:
        self.message_id = message_id
        self.offset = offset
        self.status: str | None = MessageStatus.STREAMING
        self.stale = False

    def read(self) -> str:
        """Read the row; return the text beyond ``offset`` (and advance it)."""
        row = db.session.execute(
            select(ChatMessage.content, ChatMessage.status, ChatMessage.heartbeat_at).where(
                ChatMessage.id == self.message_id
            )
        ).first()
        # End the read transaction: the next read must see the producer's new writes, and an
        # idle follower must not hold a connection.
        db.session.close()
        if row is None:
            self.status = None
            return ""
        content, self.status, heartbeat_at = row
        cutoff = utcnow() - timedelta(seconds=lease_seconds())
        self.stale = self.status == MessageStatus.STREAMING and (
            heartbeat_at is None or heartbeat_at < cutoff
        )
        return self.take(0, content)

    def take(self, start: int, text: str) -> str:
        """The part of ``text`` (starting at ``start``) beyond ``offset``; advances it."""
        end = start + len(text)
        if start > self.offset or end <= self.offset:
            return ""
        new = text[self.offset - start :]
        self.offset = end
        return new


def _follow_elsewhere(
    message_id: int, offset: int, keepalive: float, poll: float
) -> Iterator[StreamEvent]:
    answers = bus()
    events = answers.subscribe(message_id)  # before reading: nothing published is missed
    row = _Row(message_id, offset)
    waiting: dict[int, str] = {}  # pieces beyond a gap, by start
    # The row lags: the producer has the rest, and publishes each delta from now on. Until it
    # answers (a request lost while its process was not listening yet), ask again.
    answers.request_text(message_id, offset)
    asked = time.monotonic()
    heard = False
    last_write = time.monotonic()
    try:
        need_read = True
        while True:
            new = row.read() if need_read else ""
            need_read = False
            for start in sorted(waiting):
                new += row.take(start, waiting[start])
            waiting = {s: t for s, t in waiting.items() if s + len(t) > row.offset}
            if new:
                yield Delta(new, row.offset)
                last_write = time.monotonic()
            if row.status != MessageStatus.STREAMING:
                yield Done(row.status)
                return
            if row.stale:
                mark_interrupted(message_id)  # its producer died with its process
                need_read = True
                continue
            if not answers.enabled:
                timeout = poll
            else:
                timeout = GAP_POLL_SECONDS if waiting or not heard else CATCH_UP_SECONDS
            try:
                event = events.get(timeout=min(timeout, keepalive))
            except queue.Empty:
                need_read = True
                if answers.enabled and not heard:
                    answers.request_text(message_id, row.offset)
                    asked = time.monotonic()
                if time.monotonic() - last_write >= keepalive:
                    yield Keepalive()
                    last_write = time.monotonic()
                continue
            heard = heard or isinstance(event, (Piece, Ended))
            if isinstance(event, Piece):
                waiting[event.start] = event.text
                if event.start > row.offset and time.monotonic() - asked > GAP_POLL_SECONDS:
                    answers.request_text(message_id, row.offset)  # a piece went missing
                    asked = time.monotonic()
            elif isinstance(event, Resync):
                answers.request_text(message_id, row.offset)
                asked = time.monotonic()
                need_read = True
            elif isinstance(event, Ended):
                need_read = True
    finally:
        answers.unsubscribe(message_id, events)


def finished_message(message: ChatMessage, done: Done) -> ChatMessage | None:
    """The finished answer to show: ``message`` (loaded when following began) with the final
    values of ``done`` when the producer ran here, else the row read once (``None`` when the
    message is gone)."""
    if done.status is None:
        return None
    if "content" in done.values:
        for name, value in done.values.items():
            setattr(message, name, value)
        return message
    return db.session.get(ChatMessage, message.id)
