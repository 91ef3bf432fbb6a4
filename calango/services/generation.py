"""The producer of an assistant answer, decoupled from the browser connection.

One producer thread (a greenlet under gevent) per answer owns the provider stream. It writes
the accumulated text to the message row about once a second and at the end (usage, cost,
latency, final status), and fans the text out to in-process listeners (the SSE endpoint).
Closing the tab never loses the answer; a killed process loses at most the last second and
its rows are marked ``interrupted`` once their heartbeat is older than the lease.

Across processes the database is the only shared state: ``heartbeat_at`` (refreshed by a
per-process keeper) says a producer is alive, ``stop_requested`` carries Stop from any
worker to the producer.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from calango.extensions import db
from calango.llm import (
    CancelToken,
    ChatParams,
    ChatStream,
    Finish,
    Price,
    ProviderError,
    ProviderSettings,
    TextDelta,
    Usage,
    compute_cost,
    estimate_tokens,
    open_chat_stream,
)
from calango.models import ChatMessage, MessageStatus
from calango.models.types import utcnow
from calango.services.call_log import UNEXPECTED, error_class_of
from calango.services.message_html import NO_HTML, final_html_values
from calango.services.provider_errors import describe_provider_error

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0  # seconds between writes of the accumulated text
KEEPER_INTERVAL = 1.0  # seconds between heartbeats / stop checks of local producers


@dataclass
class GenerationRequest:
    """Everything the producer needs, resolved before it starts (no lazy DB access)."""

    message_id: int
    settings: ProviderSettings
    model: str
    messages: list[dict[str, str]]
    price: Price | None
    locale: str = "en"
    params: ChatParams = field(default_factory=ChatParams)


@dataclass
class Generation:
    """A running producer and its in-process listeners."""

    request: GenerationRequest
    thread: threading.Thread | None = None
    text: str = ""
    done: bool = False
    stop_event: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    listeners: list[queue.Queue[tuple[str, str]]] = field(default_factory=list)
    stream: ChatStream | None = None
    cancel: CancelToken = field(default_factory=CancelToken)

    def subscribe(self) -> tuple[str, queue.Queue[tuple[str, str]] | None]:
        """The text so far and a queue of ("delta", text) / ("done", status) events.

        Returns no queue when the answer is already finished.
        """
        with self.lock:
            if self.done:
                return self.text, None
            listener: queue.Queue[tuple[str, str]] = queue.Queue()
            self.listeners.append(listener)
            return self.text, listener

    def unsubscribe(self, listener: queue.Queue[tuple[str, str]]) -> None:
        with self.lock:
            if listener in self.listeners:
                self.listeners.remove(listener)

    def _publish(self, kind: str, payload: str) -> None:
        with self.lock:
            if kind == "delta":
                self.text += payload
            else:
                self.done = True
            for listener in self.listeners:
                listener.put((kind, payload))

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

    def remove(self, message_id: int) -> None:
        with self.lock:
            self.running.pop(message_id, None)

    def snapshot(self) -> list[Generation]:
        with self.lock:
            return list(self.running.values())

    def _keep(self) -> None:
        """Refresh heartbeats of local producers and deliver Stop requested elsewhere."""
        while True:
            time.sleep(KEEPER_INTERVAL)
            generations = self.snapshot()
            if not generations:
                with self.lock:
                    if not self.running:
                        self._keeper = None
                        return
                continue
            ids = [g.request.message_id for g in generations]
            try:
                with self.app.app_context():
                    db.session.execute(
                        update(ChatMessage)
                        .where(ChatMessage.id.in_(ids))
                        .where(ChatMessage.status == MessageStatus.STREAMING)
                        .values(heartbeat_at=utcnow())
                    )
                    stop_ids = set(
                        db.session.scalars(
                            select(ChatMessage.id).where(
                                ChatMessage.id.in_(ids), ChatMessage.stop_requested.is_(True)
                            )
                        )
                    )
                    db.session.commit()
                    db.session.remove()
            except Exception:  # keep vouching next round; a DB hiccup must not kill the keeper
                log.exception("heartbeat failed")
                continue
            for generation in generations:
                if generation.request.message_id in stop_ids:
                    generation.stop()


def registry(app: Flask | None = None) -> GenerationRegistry:
    """This process's registry for ``app``."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    reg = app.extensions.get("calango_generations")
    if reg is None:
        reg = app.extensions["calango_generations"] = GenerationRegistry(app)
    return reg


def start_generation(request: GenerationRequest) -> Generation:
    """Start the producer for an assistant message already committed as ``streaming``."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    generation = Generation(request=request)
    # Not a daemon: a clean shutdown waits for answers in flight to be saved.
    generation.thread = threading.Thread(
        target=_produce,
        args=(app, generation),
        name=f"calango-answer-{request.message_id}",
    )
    registry(app).add(generation)
    generation.thread.start()
    # Let the producer send the provider request before this request goes on rendering its
    # response: under gevent a new greenlet only runs when the current one yields, and the
    # rendering then overlaps with the provider's own latency instead of adding to it.
    time.sleep(0)
    return generation


def _save(message_id: int, **values: Any) -> bool:
    """Write ``values`` to the message; returns whether Stop was requested meanwhile."""
    db.session.execute(update(ChatMessage).where(ChatMessage.id == message_id).values(**values))
    stop = db.session.scalar(select(ChatMessage.stop_requested).where(ChatMessage.id == message_id))
    db.session.commit()
    return bool(stop)


def _usage_json(usage: Usage) -> dict[str, Any]:
    return {
        "prompt": usage.prompt_tokens,
        "completion": usage.completion_tokens,
        "total": usage.total_tokens,
        "estimated": usage.estimated,
    }


def _produce(app: Flask, generation: Generation) -> None:
    request = generation.request
    message_id = request.message_id
    started = time.monotonic()
    first_token_at: float | None = None
    usage: Usage | None = None
    status = MessageStatus.COMPLETE
    error_text: str | None = None
    error_class: str | None = None
    with app.app_context(), force_locale(request.locale):
        try:
            last_flush = time.monotonic()
            flushed_len = 0
            stream = open_chat_stream(
                request.settings,
                request.model,
                request.messages,
                cancel=generation.cancel,
                params=request.params,
            )
            generation.stream = stream
            with stream:
                if generation.stop_event.is_set():
                    raise _Stopped
                for event in stream:
                    if isinstance(event, TextDelta):
                        if first_token_at is None:
                            first_token_at = time.monotonic()
                        # PostgreSQL refuses NUL in text: a model's stray NUL must not cost
                        # the whole answer at the next save.
                        generation._publish("delta", event.text.replace("\x00", ""))
                    elif isinstance(event, Usage):
                        usage = event
                    elif isinstance(event, Finish):
                        pass
                    if generation.stop_event.is_set():
                        raise _Stopped
                    now = time.monotonic()
                    # The first text is written at once, so that followers in other workers
                    # (polling the row) start showing the answer without waiting a full second.
                    due = flushed_len == 0 or now - last_flush >= FLUSH_INTERVAL
                    if due and len(generation.text) != flushed_len:
                        flushed_len = len(generation.text)
                        last_flush = now
                        # A growing text has no stored HTML (see message_html).
                        partial = {"content": generation.text, **NO_HTML}
                        if _save(message_id, heartbeat_at=utcnow(), **partial):
                            raise _Stopped
                if generation.stop_event.is_set():
                    raise _Stopped  # the stream was closed under us and just ended
        except _Stopped:
            status = MessageStatus.STOPPED
        except ProviderError as exc:
            if generation.stop_event.is_set():
                status = MessageStatus.STOPPED  # closing the stream on Stop looks like a cut
            else:
                status = MessageStatus.ERROR
                error_text = describe_provider_error(exc, request.settings.name)
                error_class = error_class_of(exc)
                log.info("provider error for message %s: %r", message_id, exc)
        except Exception:
            log.exception("answer %s failed", message_id)
            status = MessageStatus.ERROR
            error_class = UNEXPECTED
            error_text = _("Calango hit an unexpected error while answering. Details are in "
                           "the server log.")  # fmt: skip
        finally:
            generation.stream = None
        text = generation.text
        if usage is None and text:
            # A partial answer still cost what was streamed: estimate both sides. A request
            # refused before any token (401, 429, ...) is not billed: no usage, no cost.
            prompt = sum(estimate_tokens(m["content"]) for m in request.messages)
            usage = Usage(prompt, estimate_tokens(text), estimated=True)
        values: dict[str, Any] = {
            "content": text,
            **_final_html(text, message_id),
            "status": status,
            "error": error_text,
            "error_class": error_class,
            "token_usage": _usage_json(usage) if usage else None,
            # The same counts as plain columns, for the dashboard's sums.
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "completion_tokens": usage.completion_tokens if usage else None,
            "tokens_estimated": usage.estimated if usage else None,
            "cost": _cost(request.price, usage, message_id),
            "ttft_ms": round((first_token_at - started) * 1000) if first_token_at else None,
            "total_ms": round((time.monotonic() - started) * 1000),
            "heartbeat_at": None,
        }
        try:
            _save_final(message_id, values)
        finally:
            db.session.remove()
            registry(app).remove(message_id)
            generation._publish("done", values["status"])


def _cost(price: Price | None, usage: Usage | None, message_id: int) -> Decimal | None:
    """The answer's cost, or ``None`` when it cannot be computed or stored (an absurd price
    in old data must not keep the answer from being saved)."""
    try:
        return compute_cost(price, usage)
    except Exception:
        log.warning("no cost for answer %s: price %r", message_id, price, exc_info=True)
        return None


def _final_html(text: str, message_id: int) -> dict[str, Any]:
    """The final text's stored HTML; none when rendering fails (shown rendered lazily)."""
    try:
        return final_html_values(text)
    except Exception:
        log.exception("could not render answer %s", message_id)
        return dict(NO_HTML)


def _save_final(message_id: int, values: dict[str, Any]) -> None:
    """Save the answer's final state. When the full record cannot be written (a failed
    commit, a full disk), keep at least its text and a final status, so the answer ends."""
    try:
        _save(message_id, **values)
        return
    except Exception:
        db.session.rollback()
        log.exception("could not save the final state of answer %s", message_id)
    if values["status"] == MessageStatus.COMPLETE:
        values["status"] = MessageStatus.ERROR
    values["error"] = values["error"] or _(
        "The answer arrived, but Calango could not save all of it (its usage and cost are "
        "missing). Details are in the server log."
    )
    text = ("content", "content_html", "content_html_version")
    for fallback in (
        {k: values[k] for k in (*text, "status", "error", "heartbeat_at")},
        {k: values[k] for k in ("status", "error", "heartbeat_at")},
    ):
        try:
            _save(message_id, **fallback)
            return
        except Exception:
            db.session.rollback()
            log.exception("could not save even part of answer %s", message_id)


class _Stopped(Exception):
    """Internal: Stop was requested."""


def request_stop(message_id: int) -> bool:
    """Stop an answer wherever it is produced. Returns False when it already finished."""
    result = db.session.execute(
        update(ChatMessage)
        .where(ChatMessage.id == message_id, ChatMessage.status == MessageStatus.STREAMING)
        .values(stop_requested=True)
    )
    db.session.commit()
    generation = registry().get(message_id)
    if generation is not None:
        generation.stop()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def lease_seconds() -> float:
    return float(current_app.config.get("STREAM_LEASE_SECONDS", 30))


def mark_abandoned_streams() -> int:
    """Mark ``streaming`` answers whose producer died (stale heartbeat) as ``interrupted``."""
    local_ids = [g.request.message_id for g in registry().snapshot()]
    cutoff = utcnow() - timedelta(seconds=lease_seconds())
    statement = (
        update(ChatMessage)
        .where(ChatMessage.status == MessageStatus.STREAMING)
        .where((ChatMessage.heartbeat_at.is_(None)) | (ChatMessage.heartbeat_at < cutoff))
        .values(
            status=MessageStatus.INTERRUPTED,
            heartbeat_at=None,
        )
    )
    if local_ids:
        statement = statement.where(ChatMessage.id.not_in(local_ids))
    result = db.session.execute(statement)
    db.session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def wait_for_generations(app: Flask, timeout: float) -> None:
    """Wait for this process's producers to finish (tests, shutdown)."""
    deadline = time.monotonic() + timeout
    for generation in registry(app).snapshot():
        if generation.thread is not None:
            generation.thread.join(max(0.0, deadline - time.monotonic()))
