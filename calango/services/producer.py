"""The producer of one answer, in two halves: reading the provider's stream, then finishing
the answer (its final row, then the ``Done`` event).

While it reads, the producer writes nothing: the growing text reaches the row with the
heartbeat, once a second, from the process's keeper (``services.generation``), in one
statement for all of the process's answers. At the end the producer writes the final
state once — text, stored HTML, status, error, usage, cost, timings — and clears the
heartbeat; only then do followers hear ``Done``, carrying those values.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Update, bindparam

from calango.extensions import db
from calango.llm import (
    Price,
    ProviderError,
    TextDelta,
    Usage,
    compute_cost,
    estimate_tokens,
    message_tokens,
    open_chat_stream,
)
from calango.models import ChatMessage, MessageStatus
from calango.services import auto_titles, call_rollup
from calango.services.answer_events import Done
from calango.services.call_log import UNEXPECTED, error_class_of
from calango.services.generation import Generation, registry
from calango.services.message_html import NO_HTML, final_html_values
from calango.services.provider_errors import describe_provider_error

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """How reading the provider ended."""

    status: str = MessageStatus.COMPLETE
    usage: Usage | None = None
    error: str | None = None
    error_class: str | None = None
    started: float = 0.0
    first_token_at: float | None = None


class _Stopped(Exception):
    """Internal: Stop was requested."""


def produce(app: Flask, generation: Generation) -> None:
    """The producer thread's body: read, then finish (always)."""
    with app.app_context(), force_locale(generation.request.locale):
        outcome = Outcome(started=time.monotonic())
        try:
            read_provider(generation, outcome, app)
        finally:
            finish_answer(generation, outcome, app)


@functools.cache
def _update_answer() -> Update:
    """``UPDATE chat_messages SET … WHERE id = :answer_id RETURNING`` the row's
    ``call_rollup.ANSWER_COLUMNS``, the SET clause being the columns given with it. A Core
    statement built once: this thread's session holds no message to keep in step, and the
    ORM's bulk UPDATE costs more CPU than running the statement."""
    table = ChatMessage.__table__
    columns = ChatMessage.__mapper__.columns
    return (
        table.update()
        .where(table.c.id == bindparam("answer_id"))
        .returning(*(columns[n] for n in call_rollup.ANSWER_COLUMNS))
    )


def _update(message_id: int, values: dict[str, Any]) -> Any:
    return db.session.execute(_update_answer(), {"answer_id": message_id, **values})


def read_provider(generation: Generation, outcome: Outcome, app: Flask) -> None:
    """Stream the provider's answer into ``generation``; record how it ended in ``outcome``."""
    request = generation.request
    try:
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
                    if outcome.first_token_at is None:
                        outcome.first_token_at = time.monotonic()
                    # PostgreSQL refuses NUL in text: a model's stray NUL must not cost the
                    # whole answer at the next save.
                    generation.add_text(event.text.replace("\x00", ""), app)
                elif isinstance(event, Usage):
                    outcome.usage = event
                if generation.stop_event.is_set():
                    raise _Stopped
            if generation.stop_event.is_set():
                raise _Stopped  # the stream was closed under us and just ended
    except _Stopped:
        outcome.status = MessageStatus.STOPPED
    except ProviderError as exc:
        if generation.stop_event.is_set():
            outcome.status = MessageStatus.STOPPED  # closing the stream on Stop looks like a cut
        else:
            outcome.status = MessageStatus.ERROR
            outcome.error = describe_provider_error(exc, request.settings.name)
            outcome.error_class = error_class_of(exc)
            log.info("provider error for message %s: %r", request.message_id, exc)
    except Exception:
        log.exception("answer %s failed", request.message_id)
        outcome.status = MessageStatus.ERROR
        outcome.error_class = UNEXPECTED
        outcome.error = _("Calango hit an unexpected error while answering. Details are in "
                          "the server log.")  # fmt: skip
    finally:
        generation.stream = None
        db.session.rollback()  # nothing may be left open for the final write


def _usage_json(usage: Usage) -> dict[str, Any]:
    return {
        "prompt": usage.prompt_tokens,
        "completion": usage.completion_tokens,
        "total": usage.total_tokens,
        "estimated": usage.estimated,
    }


def final_values(generation: Generation, outcome: Outcome) -> dict[str, Any]:
    """The columns the answer ends with."""
    request = generation.request
    text = generation.text
    usage = outcome.usage
    if usage is None and text:
        # A partial answer still cost what was streamed: estimate both sides. A request
        # refused before any token (401, 429, ...) is not billed: no usage, no cost.
        prompt = sum(message_tokens(m) for m in request.messages)
        usage = Usage(prompt, estimate_tokens(text), estimated=True)
    first = outcome.first_token_at
    return {
        "content": text,
        **_final_html(text, request.message_id),
        "status": outcome.status,
        "error": outcome.error,
        "error_class": outcome.error_class,
        "token_usage": _usage_json(usage) if usage else None,
        # The same counts as plain columns, for the dashboard's sums.
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "tokens_estimated": usage.estimated if usage else None,
        "cost": _cost(request.price, usage, request.message_id),
        "ttft_ms": round((first - outcome.started) * 1000) if first else None,
        "total_ms": round((time.monotonic() - outcome.started) * 1000),
        "heartbeat_at": None,
    }


def finish_answer(generation: Generation, outcome: Outcome, app: Flask) -> None:
    """Write the final state, then tell every follower (``Done`` with those values)."""
    message_id = generation.request.message_id
    values: dict[str, Any] = {"status": outcome.status}
    try:
        values = final_values(generation, outcome)
        values = _save_final(message_id, values)
    finally:
        db.session.remove()
        registry(app).remove(message_id)
        generation.finish(Done(values["status"], values), app)
    if values["status"] == MessageStatus.COMPLETE:
        # Optional, never fails the answer; off (the default) costs nothing when the send
        # read the setting.
        auto_titles.name_chat_after(message_id, generation.request.title_setting)


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


@functools.cache
def _finish_streaming() -> Update:
    """``UPDATE chat_messages SET … WHERE id = :answer_id AND status = 'streaming' RETURNING``
    what A Cuca's rollup counts (``call_rollup.finished_columns``), built once."""
    table = ChatMessage.__table__
    return (
        table.update()
        .where(table.c.id == bindparam("answer_id"), table.c.status == MessageStatus.STREAMING)
        .returning(*call_rollup.finished_columns(table))
    )


def _write(message_id: int, values: dict[str, Any]) -> None:
    if "status" in values:
        # The usual end: the row, still streaming, counted nothing in A Cuca's rollup, so
        # there is nothing to take out; the UPDATE (which locks it) returns what it counts
        # now. No row: it is gone, or someone else ended it (it counts already): recount it
        # as any other change.
        params = {"answer_id": message_id, **values}
        row = db.session.execute(_finish_streaming(), params).mappings().first()
        if row is not None:
            call_rollup.count_rows([row])
            db.session.commit()
            return
    with call_rollup.recounted(message_id, enabled="status" in values) as recount:  # A Cuca
        recount.after = _update(message_id, values).mappings().first()
    db.session.commit()


def _save_final(message_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Save the answer's final state and return what was saved. When the full record cannot
    be written (a failed commit, a full disk), keep at least its text and a final status, so
    the answer ends."""
    try:
        _write(message_id, values)
        return values
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
            _write(message_id, fallback)
            return fallback
        except Exception:
            db.session.rollback()
            log.exception("could not save even part of answer %s", message_id)
    return {"status": values["status"]}  # nothing saved: followers read the row
