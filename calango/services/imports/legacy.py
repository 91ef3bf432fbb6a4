"""Importing the original Calango's ``calango.json`` (TinyDB) into the database.

Each history record becomes a user message (its question) and an assistant message (its
reply, with provider, model, persona, usage and the cost it had, frozen). Replies the original
saved as "Error: ..." become errored answers. Records of the arena (session ``rinha-mode``)
become rounds of A Rinha (``legacy_arena``). Every chat, round and message remembers where it
came from (``import_key``), so importing the same file again adds nothing.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError

from calango.extensions import db
from calango.models import ChatMessage, ChatSession, MessageStatus
from calango.models.chat import usage_columns
from calango.models.persona import PROMPT_MAX
from calango.models.types import utcnow
from calango.services import call_rollup, preferences
from calango.services.branches import link_as_single_branch
from calango.services.call_log import UNKNOWN
from calango.services.chat import title_from
from calango.services.imports import ImportFileError, ImportSummary
from calango.services.imports.legacy_arena import import_rounds
from calango.services.imports.legacy_parse import (
    LegacyExchange,
    documents,
    parse_history,
    parse_time,
    read_tinydb,
    text_or_none,
)
from calango.services.imports.legacy_providers import import_providers
from calango.services.imports.owner import import_owner, importing_for
from calango.services.imports.personas import import_persona
from calango.themes import THEMES

FILE_NAME = "calango.json"
PREFIX = "tinydb:"
ARENA_SESSION = "rinha-mode"
ERROR_PREFIX = "Error:"


def default_path() -> Path:
    """Where the original Calango keeps its file: ``calango.json`` in CALANGO_HOME."""
    return Path(current_app.config["CALANGO_HOME"]) / FILE_NAME


def legacy_offer() -> Path | None:
    """The original Calango's file, on a desktop with no chats yet when it is there."""
    if current_app.config.get("MODE") != "DESKTOP":
        return None
    path = default_path()
    if not path.is_file():
        return None
    if db.session.scalar(select(exists().where(ChatSession.id.is_not(None)))):
        return None
    return path


def theme_for(name: Any) -> str | None:
    """Our theme id for one of the original's theme names ("Tiê (Red)" → ``tie``)."""
    if not isinstance(name, str):
        return None
    base = name.split("(")[0].strip().lower()
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    return base if base in THEMES else None


def _import_settings(data: dict[str, Any], summary: ImportSummary) -> None:
    for doc_id, doc in documents(data, "settings", summary.skipped):
        if not isinstance(doc, dict) or "theme" not in doc:
            continue
        theme = theme_for(doc.get("theme"))
        if theme is None:
            summary.skipped.append(
                _(
                    "settings #%(id)s: the theme %(theme)s has no equivalent here.",
                    id=doc_id,
                    theme=repr(doc.get("theme")),
                )
            )
        elif theme == preferences.user_value(import_owner(), preferences.THEME_KEY):
            summary.present["settings"] += 1
        else:
            preferences.put_setting(preferences.THEME_KEY, theme, user_id=import_owner())
            summary.imported["settings"] += 1


def _import_personas(data: dict[str, Any], summary: ImportSummary) -> None:
    for doc_id, doc in documents(data, "personas", summary.skipped):
        label = _("personas #%(id)s", id=doc_id)
        name = text_or_none(doc.get("name")) if isinstance(doc, dict) else None
        prompt = doc.get("prompt") if isinstance(doc, dict) else None
        if name is None or not isinstance(prompt, str) or not prompt.strip():
            summary.skipped.append(_("%(record)s: it needs a name and a prompt.", record=label))
            continue
        if len(name) > 80 or len(prompt) > PROMPT_MAX:
            summary.skipped.append(_("%(record)s: its name or prompt is too long.", record=label))
            continue
        import_persona(name, prompt, summary)


def _sessions(data: dict[str, Any], summary: ImportSummary) -> dict[str, dict[str, Any]]:
    sessions: dict[str, dict[str, Any]] = {}
    for doc_id, doc in documents(data, "sessions", summary.skipped):
        sid = text_or_none(doc.get("id"), 200) if isinstance(doc, dict) else None
        if sid is None:
            summary.skipped.append(_("sessions #%(id)s: it has no id.", id=doc_id))
            continue
        if sid in sessions:
            summary.warnings.append(
                _(
                    "sessions #%(id)s: a second session with the id %(sid)s; their records were "
                    "put together.",
                    id=doc_id,
                    sid=sid,
                )
            )
            continue
        sessions[sid] = {
            "title": text_or_none(doc.get("title"), 200),
            "created_at": parse_time(doc.get("created_at")),
        }
    return sessions


def _chat_title(sid: str | None, session: dict[str, Any] | None, first: str | None) -> str:
    if session and session["title"]:
        return str(session["title"])
    if sid is None:
        return _("Imported history without a chat")
    return (title_from(first) if first else "") or _("Imported chat")


def _place_in_time(exchanges: list[LegacyExchange], start: datetime | None) -> None:
    previous = start
    for exchange in exchanges:
        if exchange.timestamp is None:
            exchange.timestamp = previous or utcnow()
        previous = exchange.timestamp


def _messages(
    chat: ChatSession, exchange: LegacyExchange, summary: ImportSummary, ask: bool = True
) -> None:
    base = f"{PREFIX}history:{exchange.key}"
    if exchange.question is not None and ask:
        chat.messages.append(
            ChatMessage(
                role="user",
                content=exchange.question,
                timestamp=exchange.timestamp,
                import_key=f"{base}:q",
            )
        )
        summary.imported["messages"] += 1
    elif exchange.question is None:
        summary.warnings.append(
            _(
                "%(record)s: its question was not found; only the reply was imported.",
                record=exchange.label,
            )
        )
    failed = exchange.reply.lstrip().startswith(ERROR_PREFIX)
    chat.messages.append(
        ChatMessage(
            role="assistant",
            content="" if failed else exchange.reply,
            status=MessageStatus.ERROR if failed else MessageStatus.COMPLETE,
            error=exchange.reply.lstrip()[len(ERROR_PREFIX) :].strip() or None if failed else None,
            timestamp=exchange.timestamp,
            provider=exchange.provider,
            model=exchange.model,
            persona=exchange.persona,
            token_usage=exchange.usage,
            **usage_columns(exchange.usage),
            error_class=UNKNOWN if failed else None,
            cost=exchange.cost,
            import_key=f"{base}:a",
        )
    )
    call_rollup.count_rows(chat.messages[-1:])  # A Cuca's sums
    summary.imported["messages"] += 1


def _import_chats(data: dict[str, Any], summary: ImportSummary) -> None:
    sessions = _sessions(data, summary)
    groups: dict[str | None, list[LegacyExchange]] = defaultdict(list)
    for exchange in parse_history(data, summary):
        groups[exchange.session_id].append(exchange)
    owner = import_owner()
    mine = select(ChatSession.id).where(ChatSession.owner_id == owner)
    chats = {
        chat.import_key: chat
        for chat in db.session.scalars(
            select(ChatSession).where(
                ChatSession.owner_id == owner, ChatSession.import_key.like(f"{PREFIX}%")
            )
        )
    }
    known = set(
        db.session.scalars(
            select(ChatMessage.import_key).where(
                ChatMessage.session_id.in_(mine), ChatMessage.import_key.like(f"{PREFIX}%")
            )
        )
    )
    arena = groups.pop(ARENA_SESSION, [])
    _place_in_time(arena, None)
    arena.sort(key=lambda e: e.timestamp)  # stable: file order among equals
    import_rounds(arena, known, summary, _messages)
    order = list(sessions) + [sid for sid in groups if sid not in sessions]
    touched: list[ChatSession] = []
    for sid in order:
        if sid == ARENA_SESSION:
            continue  # its records are rounds now
        session = sessions.get(sid) if sid is not None else None
        exchanges = groups.get(sid, [])
        _place_in_time(exchanges, session["created_at"] if session else None)
        exchanges.sort(key=lambda e: e.timestamp)  # stable: file order among equals
        key = f"{PREFIX}session:{sid}" if sid is not None else f"{PREFIX}orphans"
        title = _chat_title(sid, session, exchanges[0].question if exchanges else None)
        if session is None and sid is not None:
            summary.warnings.append(
                _(
                    "%(num)d records belong to a session missing from the file (%(sid)s); they "
                    "were imported into the chat “%(title)s”.",
                    num=len(exchanges),
                    sid=sid,
                    title=title,
                )
            )
        new = [e for e in exchanges if f"{PREFIX}history:{e.key}:a" not in known]
        summary.present["messages"] += sum(
            (f"{PREFIX}history:{e.key}:q" in known) + 1 for e in exchanges if e not in new
        )
        chat = chats.get(key)
        if chat is None:
            created = (session and session["created_at"]) or (
                exchanges[0].timestamp if exchanges else utcnow()
            )
            chat = ChatSession(
                owner_id=owner,
                title=title,
                created_at=created,
                updated_at=created,
                import_key=key,
            )
            db.session.add(chat)
            chats[key] = chat
            summary.imported["chats"] += 1
        elif not new:
            summary.present["chats"] += 1
            continue
        touched.append(chat)
        for exchange in new:
            _messages(chat, exchange, summary)
            chat.persona = exchange.persona or chat.persona
            if exchange.timestamp and exchange.timestamp > chat.updated_at:
                chat.updated_at = exchange.timestamp
    db.session.flush()
    link_as_single_branch([chat.id for chat in touched])  # each chat one branch, in order


def import_legacy(raw: bytes, owner_id: int | None = None) -> ImportSummary:
    """Import the original Calango's file (its bytes) for ``owner_id`` (default: the current
    user), all in one transaction. Providers are the instance's.

    Raises :class:`ImportFileError` when the file cannot be read as one; nothing is written.
    """
    data = read_tinydb(raw)
    summary = ImportSummary()
    with importing_for(owner_id):
        _import_legacy(data, summary)
    return summary


def _import_legacy(data: dict[str, Any], summary: ImportSummary) -> None:
    try:
        import_providers(data, summary)
        _import_settings(data, summary)
        _import_personas(data, summary)
        _import_chats(data, summary)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("legacy import failed")
        raise ImportFileError(_("The import could not be saved. Nothing was imported.")) from None
    except BaseException:
        db.session.rollback()
        raise
