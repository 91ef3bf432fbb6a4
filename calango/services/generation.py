"""Running answers in this process: start one, stop one anywhere, vouch for them, sweep the
ones whose producer died.

An answer is keyed by its assistant message: several can run for one prompt (the arena) or
one chat. ``start_answer`` starts the producer (``services.producer``) for a message already
committed as ``streaming``; the producer alone writes the row's text and final state.

Across processes the database is the shared state: while an answer streams, its row is
written only by this process's keeper, once a second for every local producer in one
statement: ``heartbeat_at``, which says the producer is alive, and the text when it grew;
``stop_requested`` is the one Stop channel: set by ``request_stop`` in any process, delivered
at once to a local producer, by ``NOTIFY`` to one elsewhere (``services.answer_bus``), and
checked by the keeper each second as the catch-up when a notification was missed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import case, update

from calango.extensions import db
from calango.llm import CancelToken, ChatParams, ChatStream, Price, ProviderSettings
from calango.models import ChatMessage, MessageStatus
from calango.models.types import utcnow
from calango.services import call_rollup
from calango.services.answer_bus import AnswerBus, bus
from calango.services.answer_events import Delta, Done

log = logging.getLogger(__name__)

KEEPER_INTERVAL = 1.0  # seconds between the keeper's rounds (heartbeat, text, stop check)

LocalEvent = Delta | Done


# ``GenerationRequest.title_setting`` when the caller did not read it: the producer reads it.
UNREAD: Any = object()


@dataclass
class GenerationRequest:
    """Everything the producer needs, resolved before it starts (no lazy DB access)."""

    message_id: int
    settings: ProviderSettings
    model: str
    messages: list[dict[str, Any]]  # llm.open_chat_stream's messages (text, images)
    price: Price | None
    locale: str = "en"
    params: ChatParams = field(default_factory=ChatParams)
    # The stored auto-title setting, when the send read it with its provider: the finished
    # answer then needs no statement of its own to learn that titles are off.
    title_setting: Any = UNREAD


@dataclass
class Generation:
    """A running producer: the text so far, its end, and its in-process followers."""

    request: GenerationRequest
    thread: threading.Thread | None = None
    text: str = ""
    done: Done | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    listeners: list[queue.Queue[LocalEvent]] = field(default_factory=list)
    stream: ChatStream | None = None
    cancel: CancelToken = field(default_factory=CancelToken)
    # A follower in another process asked for the text (``resend``): from then on each delta
    # is published for it. Until then nothing is: most answers are followed where they run.
    followed_elsewhere: bool = False
    # How much of ``text`` the row holds (the keeper's to write, see ``GenerationRegistry``).
    saved_len: int = 0

    def subscribe(self) -> tuple[str, queue.Queue[LocalEvent] | None, Done | None]:
        """The text so far, a queue of what follows (``Delta``, then one ``Done``), or — when
        the answer already ended — no queue and its ``Done``."""
        with self.lock:
            if self.done is not None:
                return self.text, None, self.done
            listener: queue.Queue[LocalEvent] = queue.Queue()
            self.listeners.append(listener)
            return self.text, listener, None

    def unsubscribe(self, listener: queue.Queue[LocalEvent]) -> None:
        with self.lock:
            if listener in self.listeners:
                self.listeners.remove(listener)

    def add_text(self, chunk: str, app: Flask) -> None:
        """Text from the provider: to local followers at once, to other processes batched."""
        with self.lock:
            start = len(self.text)
            self.text += chunk
            event = Delta(chunk, len(self.text))
            for listener in self.listeners:
                listener.put(event)
            elsewhere = self.followed_elsewhere
        if elsewhere:
            bus(app).publish_text(self.request.message_id, start, chunk)

    def finish(self, done: Done, app: Flask) -> None:
        """The final state is committed: tell every follower, here and elsewhere."""
        with self.lock:
            self.done = done
            for listener in self.listeners:
                listener.put(done)
        bus(app).publish_end(self.request.message_id, done.status or "")

    def resend(self, start: int, answers: AnswerBus) -> None:
        """A follower elsewhere asks for the text from ``start`` on: publish it, and every
        delta after it."""
        with self.lock:
            chunk = self.text[start:] if self.done is None else ""
            self.followed_elsewhere = True
        # Even with no text yet: the (empty) piece tells the follower it was heard.
        answers.publish_text(self.request.message_id, start, chunk, always=True)

    def stop(self) -> None:
        """Ask the producer to stop: cancelling cuts a request still waiting for the provider's
        first byte (and prevents any retry); closing the stream unblocks a waiting read."""
        self.stop_event.set()
        self.cancel.cancel()
        stream = self.stream
        if stream is not None:
            stream.close()


class GenerationRegistry:
    """The producers running in this process, and the keeper thread that vouches for them."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.running: dict[int, Generation] = {}
        self.lock = threading.Lock()
        self._keeper: threading.Thread | None = None

    def get(self, message_id: int) -> Generation | None:
        with self.lock:
            return self.running.get(message_id)

    def add(self, generation: Generation) -> None:
        with self.lock:
            self.running[generation.request.message_id] = generation
            if self._keeper is None or not self._keeper.is_alive():
                self._keeper = threading.Thread(
                    target=self._keep, name="calango-keeper", daemon=True
                )
                self._keeper.start()
        bus(self.app).add_producer(generation.request.message_id, generation)

    def remove(self, message_id: int) -> None:
        with self.lock:
            self.running.pop(message_id, None)
        bus(self.app).remove_producer(message_id)

    def snapshot(self) -> list[Generation]:
        with self.lock:
            return list(self.running.values())

    def _keep(self) -> None:
        """The one writer of a streaming row (``vouch_for``), and the catch-up for Stop
        requested elsewhere."""
        while True:
            time.sleep(KEEPER_INTERVAL)
            generations = self.snapshot()
            if not generations:
                with self.lock:
                    if not self.running:
                        self._keeper = None
                        return
                continue
            try:
                with self.app.app_context():
                    stop_ids = vouch_for(generations)
                    db.session.remove()
            except Exception:  # keep vouching next round; a DB hiccup must not kill the keeper
                log.exception("heartbeat failed")
                continue
            for generation in generations:
                if generation.request.message_id in stop_ids:
                    generation.stop()


def vouch_for(generations: list[Generation]) -> set[int]:
    """One round of the keeper, one statement for all of ``generations``: the heartbeat of
    each row still streaming, the text of those whose text grew since the last round; returns
    the ids whose Stop was requested (the catch-up for a lost notification).

    A row that is no longer streaming is left alone: the producer's final write (or the
    sweep) has the last word even when this round's statement waits for its lock."""
    table = ChatMessage.__table__
    grown: dict[int, str] = {}
    for generation in generations:
        with generation.lock:
            text, finished = generation.text, generation.done is not None
        if not finished and len(text) != generation.saved_len:
            grown[generation.request.message_id] = text
    content = case(grown, value=table.c.id, else_=table.c.content) if grown else table.c.content
    statement = (
        table.update()
        .where(
            table.c.id.in_([g.request.message_id for g in generations]),
            table.c.status == MessageStatus.STREAMING,
        )
        .values(heartbeat_at=utcnow(), content=content)
        .returning(table.c.id, table.c.stop_requested)
    )
    rows = db.session.execute(statement).all()
    db.session.commit()
    for generation in generations:
        if generation.request.message_id in grown:
            generation.saved_len = len(grown[generation.request.message_id])
    return {row.id for row in rows if row.stop_requested}


def registry(app: Flask | None = None) -> GenerationRegistry:
    """This process's registry for ``app``."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    reg = app.extensions.get("calango_generations")
    if reg is None:
        reg = app.extensions["calango_generations"] = GenerationRegistry(app)
    return reg


def start_answer(request: GenerationRequest) -> Generation:
    """Start writing the answer of an assistant message already committed as ``streaming``
    (with ``heartbeat_at`` set). The one entry point for a send, a regenerate, a retry or
    each answer of an arena round; it returns at once, the producer runs in the background.
    """
    from calango.services.producer import produce

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    generation = Generation(request=request)
    # Not a daemon: a clean shutdown waits for answers in flight to be saved.
    generation.thread = threading.Thread(
        target=produce, args=(app, generation), name=f"calango-answer-{request.message_id}"
    )
    registry(app).add(generation)
    generation.thread.start()
    # Let the producer send the provider request before this request goes on rendering its
    # response: under gevent a new greenlet only runs when the current one yields, and the
    # rendering then overlaps with the provider's own latency instead of adding to it.
    time.sleep(0)
    return generation


start_generation = start_answer  # the earlier name


def request_stop(message_id: int) -> bool:
    """Stop an answer wherever it is produced. Returns False when it already finished."""
    result = db.session.execute(
        update(ChatMessage)
        .where(ChatMessage.id == message_id, ChatMessage.status == MessageStatus.STREAMING)
        .values(stop_requested=True)
    )
    db.session.commit()
    stopped = bool(result.rowcount)  # type: ignore[attr-defined]
    generation = registry().get(message_id)
    if generation is not None:
        generation.stop()
    elif stopped:
        bus().publish_stop(message_id)
    return stopped


def lease_seconds() -> float:
    """How old a heartbeat may be before its producer is taken for dead."""
    return float(current_app.config.get("STREAM_LEASE_SECONDS", 30))


def mark_abandoned_streams() -> int:
    """Mark ``streaming`` answers whose producer died (stale heartbeat) as ``interrupted``."""
    local_ids = [g.request.message_id for g in registry().snapshot()]
    cutoff = utcnow() - timedelta(seconds=lease_seconds())
    statement = (
        update(ChatMessage)
        .where(ChatMessage.status == MessageStatus.STREAMING)
        .where((ChatMessage.heartbeat_at.is_(None)) | (ChatMessage.heartbeat_at < cutoff))
        .values(status=MessageStatus.INTERRUPTED, heartbeat_at=None)
    )
    if local_ids:
        statement = statement.where(ChatMessage.id.not_in(local_ids))
    ids = db.session.scalars(statement.returning(ChatMessage.id)).all()
    call_rollup.count_answers(ids)
    db.session.commit()
    return len(ids)


def mark_interrupted(message_id: int) -> None:
    """Declare one answer interrupted if its producer is dead (stale heartbeat, not running
    here): the only write a follower makes, so that it does not wait for ever."""
    if registry().get(message_id) is not None:
        return
    cutoff = utcnow() - timedelta(seconds=lease_seconds())
    ids = db.session.scalars(
        update(ChatMessage)
        .where(ChatMessage.id == message_id, ChatMessage.status == MessageStatus.STREAMING)
        .where((ChatMessage.heartbeat_at.is_(None)) | (ChatMessage.heartbeat_at < cutoff))
        .values(status=MessageStatus.INTERRUPTED, heartbeat_at=None)
        .returning(ChatMessage.id)
    ).all()
    call_rollup.count_answers(ids)  # A Cuca's sums
    db.session.commit()


def wait_for_generations(app: Flask, timeout: float) -> None:
    """Wait for this process's producers to finish (tests, shutdown)."""
    deadline = time.monotonic() + timeout
    for generation in registry(app).snapshot():
        if generation.thread is not None:
            generation.thread.join(max(0.0, deadline - time.monotonic()))
