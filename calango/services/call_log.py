"""Recording provider calls that are not chat answers, and naming failures for the dashboard.

Chat answers are recorded on their message by the producer (``services.generation``); this
module records *Test connection*, *Fetch models* and *Hatch* (with its tokens and cost) in
``provider_calls``. A failure to record is logged and never hides the call's own result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from calango.accounts import current_user_id
from calango.encryption import KeyDecryptionError
from calango.extensions import db
from calango.llm import (
    AuthError,
    BadRequestError,
    ConnectionLostError,
    NotFoundError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from calango.models import MessageStatus, ProviderCall
from calango.services import call_rollup

log = logging.getLogger(__name__)

# Stable, untranslated names stored in ``error_class``; the dashboard translates them.
ERROR_CLASSES: tuple[tuple[type[Exception], str], ...] = (
    (AuthError, "auth"),
    (RateLimitError, "rate_limit"),
    (NotFoundError, "not_found"),
    (BadRequestError, "bad_request"),
    (ServerError, "server"),
    (ProviderTimeoutError, "timeout"),
    (ConnectionLostError, "connection"),
    (KeyDecryptionError, "key_unreadable"),
    (ProviderError, "provider"),
)
UNEXPECTED = "unexpected"
UNKNOWN = "unknown"  # errors recorded before classes were kept
# An arena contender that could not be sent to (no key, model or provider gone, disabled).
NOT_SENT = "config"


def error_class_of(exc: BaseException) -> str:
    """The stable name of the kind of failure ``exc`` is."""
    for cls, name in ERROR_CLASSES:
        if isinstance(exc, cls):
            return name
    return UNEXPECTED


@dataclass
class CallUsage:
    """Tokens and cost the body of :func:`recorded_call` may report (calls producing text)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: Decimal | None = None


@contextmanager
def recorded_call(
    kind: str, provider: str, model: str | None = None, owner_id: int | None = None
) -> Iterator[CallUsage]:
    """Time the body and record it as one provider call of ``owner_id`` (default: the user
    of this request), whether it succeeds or raises; what the body puts in the yielded
    :class:`CallUsage` is recorded with it."""
    owner = owner_id if owner_id is not None else current_user_id()
    started = time.monotonic()
    usage = CallUsage()
    try:
        yield usage
    except Exception as exc:
        error = error_class_of(exc)
        _record(kind, provider, model, MessageStatus.ERROR, error, started, usage, owner)
        raise
    _record(kind, provider, model, MessageStatus.COMPLETE, None, started, usage, owner)


def _record(
    kind: str,
    provider: str,
    model: str | None,
    status: str,
    error_class: str | None,
    started: float,
    usage: CallUsage,
    owner_id: int,
) -> None:
    # Called around the remote request only, while the caller has nothing pending: the commit
    # saves just this row.
    call = ProviderCall(
        owner_id=owner_id,
        kind=kind,
        provider=provider[:80],
        model=model[:200] if model else None,
        status=status,
        error_class=error_class,
        duration_ms=round((time.monotonic() - started) * 1000),
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost=usage.cost,
    )
    try:
        db.session.add(call)
        db.session.flush()
        call_rollup.count_call(call)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record a %s call to %s", kind, provider)
