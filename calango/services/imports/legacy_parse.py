"""Reading the original Calango's TinyDB file (``calango.json``) into checked records.

TinyDB keeps one JSON object per table, mapping document ids to documents::

    {"config": {"1": {...}}, "settings": {...}, "personas": {...},
     "sessions": {"1": {"id": ..., "title": ..., "created_at": ...}},
     "history": {"1": {"id": ..., "session_id": ..., "timestamp": ..., "provider": ...,
                       "model": ..., "persona": ..., "messages": [...], "reply": ...,
                       "usage": {...}, "cost_usd": ...}}}

Only a file that is not that at all is refused; a bad record is skipped with its reason.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from calango.services.imports import ImportFileError, ImportSummary

TABLES = ("config", "settings", "personas", "sessions", "history")
# TinyDB itself loads the whole file in memory; a bigger one is not a calango.json.
MAX_BYTES = 256 * 1024 * 1024
MAX_COST = Decimal("999999")


@dataclass
class LegacyExchange:
    """One history record: a question and its reply."""

    key: str  # unique in the file and stable across runs
    label: str  # how the summary names it ("history #3")
    session_id: str | None
    timestamp: datetime | None
    question: str | None
    reply: str
    provider: str | None
    model: str | None
    persona: str | None
    usage: dict[str, Any] | None
    cost: Decimal | None


def read_tinydb(raw: bytes) -> dict[str, Any]:
    """The file's tables; raises :class:`ImportFileError` when it is not a TinyDB file of the
    original Calango (not UTF-8, not JSON, truncated, another app's JSON)."""
    if len(raw) > MAX_BYTES:
        raise ImportFileError(
            _(
                "The file is larger than %(size)d MB: it is not the original Calango's "
                "calango.json.",
                size=MAX_BYTES // 1024 // 1024,
            )
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            _("The file is not UTF-8 text, so it is not the original Calango's calango.json.")
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            _(
                "The file is not valid JSON (line %(line)d, column %(column)d: %(error)s). "
                "It may be truncated or damaged.",
                line=exc.lineno,
                column=exc.colno,
                error=exc.msg,
            )
        ) from None
    except RecursionError:
        raise ImportFileError(_("The file is nested too deeply to be a calango.json.")) from None
    if not isinstance(data, dict) or not any(t in data for t in TABLES):
        raise ImportFileError(
            _(
                "This is not the original Calango's file: it has none of the tables config, "
                "settings, personas, sessions and history."
            )
        )
    return data


def documents(data: dict[str, Any], table: str, skipped: list[str]) -> Iterator[tuple[str, Any]]:
    """``(document id, document)`` pairs of ``table``; a table of the wrong shape is reported."""
    value = data.get(table)
    if value is None:
        return
    if isinstance(value, dict):
        yield from ((str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        yield from ((str(i), v) for i, v in enumerate(value, 1))
    else:
        skipped.append(_("Table %(table)s: not a table of records.", table=table))


def text_or_none(value: Any, limit: int | None = None) -> str | None:
    """A stripped non-empty string (cut to ``limit``), else ``None``."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return value[:limit] if limit else value


def parse_time(value: Any) -> datetime | None:
    """``2025-11-03 15:20:38`` or ISO 8601 (naive times are taken as UTC), else ``None``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and 0 <= value < 10**12 else None


def parse_usage(value: Any) -> dict[str, Any] | None:
    """Usage in either shape the original wrote, as Calango's ``token_usage``."""
    if not isinstance(value, dict):
        return None
    prompt = _count(value.get("prompt_tokens", value.get("input_tokens")))
    completion = _count(value.get("completion_tokens", value.get("output_tokens")))
    if prompt is None and completion is None:
        return None
    prompt, completion = prompt or 0, completion or 0
    total = _count(value.get("total_tokens"))
    return {
        "prompt": prompt,
        "completion": completion,
        "total": total if total is not None else prompt + completion,
        "estimated": False,
    }


def parse_cost(value: Any) -> Decimal | None:
    """A finite, non-negative amount in USD, to Calango's 8 decimals; else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        cost = Decimal(str(value))
    except InvalidOperation:
        return None
    if not cost.is_finite() or cost < 0 or cost > MAX_COST:
        return None
    return cost.quantize(Decimal("0.00000001"))


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        text = "\n".join(p for p in parts if isinstance(p, str))
        return text or None
    return None


def last_question(messages: Any) -> str | None:
    """The last user entry of a record's ``messages`` (the question this reply answers)."""
    if not isinstance(messages, list):
        return None
    for entry in reversed(messages):
        if isinstance(entry, dict) and entry.get("role") == "user":
            text = _content_text(entry.get("content"))
            if text and text.strip():
                return text
    return None


def _fingerprint(doc: dict[str, Any]) -> str:
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parse_history(data: dict[str, Any], summary: ImportSummary) -> list[LegacyExchange]:
    """Every usable history record, in file order, with a key that is stable across runs.

    A record without an id gets one from its contents; a duplicate id with other contents
    gets its contents' fingerprint added, and an exact duplicate is skipped.
    """
    exchanges: list[LegacyExchange] = []
    seen: dict[str, str] = {}  # record id -> fingerprint
    skipped = summary.skipped
    for doc_id, doc in documents(data, "history", skipped):
        label = _("history #%(id)s", id=doc_id)
        if not isinstance(doc, dict):
            skipped.append(_("%(record)s: not a record.", record=label))
            continue
        reply = doc.get("reply")
        if not isinstance(reply, str) or not reply.strip():
            skipped.append(_("%(record)s: it has no reply.", record=label))
            continue
        fingerprint = _fingerprint(doc)
        raw_id = doc.get("id")
        record_id = str(raw_id) if isinstance(raw_id, str | int) and str(raw_id) else None
        if record_id is None:
            key = f"h:{fingerprint}"
        elif record_id in seen:
            if seen[record_id] == fingerprint:
                skipped.append(_("%(record)s: an exact copy of an earlier record.", record=label))
                continue
            key = f"{record_id}#{fingerprint}"
            summary.warnings.append(
                _(
                    "%(record)s: its id %(id)s is used by another record too; both were kept.",
                    record=label,
                    id=record_id,
                )
            )
        else:
            key = record_id
        if record_id is not None:
            seen.setdefault(record_id, fingerprint)
        exchanges.append(
            LegacyExchange(
                key=key,
                label=label,
                session_id=text_or_none(doc.get("session_id"), 200),
                timestamp=parse_time(doc.get("timestamp")),
                question=last_question(doc.get("messages")),
                reply=reply,
                provider=text_or_none(doc.get("provider"), 80),
                model=text_or_none(doc.get("model"), 200),
                persona=text_or_none(doc.get("persona"), 80),
                usage=parse_usage(doc.get("usage")),
                cost=parse_cost(doc.get("cost_usd")),
            )
        )
    return exchanges
