"""Importing Calango's own export (``export-all``, or one chat's JSON) into this database.

Everything is checked as it is read and written in one transaction: a bad record stops the
import with its place in the file (``chats[3].messages[5]: role must be ...``) and nothing is
kept. What is already here is left alone: a chat with the same id (or import key), a provider
or persona with the same name. Importing the same file twice adds nothing the second time.
"""

from __future__ import annotations

import uuid
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from calango.accounts import is_server
from calango.extensions import db
from calango.llm import PROVIDER_KINDS
from calango.models import (
    ChatMessage,
    ChatSession,
    MessageStatus,
    Provider,
    SessionKind,
    User,
)
from calango.models.chat import ROLES, usage_columns
from calango.models.names import normalize_name
from calango.models.persona import PROMPT_MAX
from calango.services import call_rollup, parameters, preferences, profile
from calango.services.branches import link_as_single_branch
from calango.services.imports import ImportFileError, ImportSummary
from calango.services.imports import fields as f
from calango.services.imports.arena_export import import_round
from calango.services.imports.export_reader import read_export
from calango.services.imports.json_stream import CountingReader, Progress
from calango.services.imports.owner import import_owner, importing_for
from calango.services.imports.persona_details import persona_details
from calango.services.imports.personas import import_persona
from calango.services.providers import is_http_url
from calango.themes import THEMES

BATCH = 1000
SETTING_KEYS = (
    preferences.THEME_KEY,
    preferences.LANGUAGE_KEY,
    preferences.LAST_CHOICE_KEY,
    profile.SETTING_KEY,
)


def _token_columns(record: dict[str, Any], usage: dict[str, Any] | None) -> dict[str, Any]:
    """The dashboard's token columns as exported; derived from ``token_usage`` for an export
    written before they existed."""
    if "prompt_tokens" not in record:
        return usage_columns(usage)
    estimated = record.get("tokens_estimated")
    if estimated is not None and not isinstance(estimated, bool):
        raise f.FieldError(_("%(field)s must be true or false.", field="tokens_estimated"))
    return {
        "prompt_tokens": f.integer(record, "prompt_tokens"),
        "completion_tokens": f.integer(record, "completion_tokens"),
        "tokens_estimated": estimated,
    }


def _optional_boolean(record: dict[str, Any], name: str) -> bool | None:
    return None if record.get(name) is None else f.boolean(record, name, False)


def _message_row(chat_id: Any, record: dict[str, Any]) -> dict[str, Any]:
    status = f.choice(record, "status", MessageStatus.ALL)
    usage = f.mapping(record, "token_usage", nullable=True)
    if not f.finite_floats_only([usage]):
        raise f.FieldError(_("numbers must be finite."))
    return {
        "session_id": chat_id,
        "role": f.choice(record, "role", ROLES),
        "content": f.text(record, "content", 10_000_000) or "",
        # An answer exported while it was being written will never finish here.
        "status": MessageStatus.INTERRUPTED if status == MessageStatus.STREAMING else status,
        "timestamp": f.moment(record, "timestamp"),
        "provider": f.text(record, "provider", 80),
        "model": f.text(record, "model", 200),
        "persona": f.text(record, "persona", 80),
        "token_usage": usage,
        **_token_columns(record, usage),
        "cost": f.cost(record, "cost"),
        "ttft_ms": f.integer(record, "ttft_ms"),
        "total_ms": f.integer(record, "total_ms"),
        "error": f.text(record, "error", 100_000),
        "error_class": f.text(record, "error_class", 40),
        "stop_requested": False,
        "import_key": f.text(record, "import_key", 255),
        "params": parameters.from_json(f.mapping(record, "params", nullable=True)).as_json()
        or None,
        "profile_sent": _optional_boolean(record, "profile_sent"),
    }


class _Writer:
    def __init__(self, summary: ImportSummary, providers: bool = True) -> None:
        self.summary = summary
        self.owner = import_owner()
        self.providers = providers  # whether this user may add providers (the instance's)
        # Chats of the file whose id another user's chat has here: written under a new id.
        self.renamed: dict[Any, Any] = {}
        self.chat_id: Any = None  # the chat being written; None while skipping one
        self.batch: list[dict[str, Any]] = []
        # The chat's tree, by the file's message ids: those get new ids here, so the links
        # are written once the chat's messages are in (parents always come first).
        self.batch_links: list[tuple[int | None, int | None]] = []  # (file id, file parent)
        self.new_ids: dict[int, int] = {}
        self.links: list[tuple[int, int]] = []  # (new id, file parent)
        self.is_tree = False
        self.leaf: int | None = None
        self.seen: set[int] = set()

    def settings(self, record: Any) -> None:
        if not isinstance(record, dict):
            raise f.FieldError(_("settings must be an object."))
        for key, value in record.items():
            if key not in SETTING_KEYS or (key == preferences.THEME_KEY and value not in THEMES):
                self.summary.skipped.append(_("Setting %(key)s: not one Calango uses.", key=key))
                continue
            if key == preferences.LAST_CHOICE_KEY and isinstance(value, dict):
                # Ids name rows of the exporting installation: only the names travel.
                value = {k: v for k, v in value.items() if not str(k).endswith("_id")}
            if key == preferences.LAST_CHOICE_KEY and not (
                isinstance(value, dict)
                and all(isinstance(v, str) and len(v) <= 200 for v in value.values())
            ):
                self.summary.skipped.append(_("Setting %(key)s: not one Calango uses.", key=key))
                continue
            if key == preferences.LANGUAGE_KEY and value not in (
                None,
                *current_app.config["LANGUAGES"],
            ):
                self.summary.skipped.append(_("Setting %(key)s: not one Calango uses.", key=key))
                continue
            if key == profile.SETTING_KEY:
                value = profile.sanitized(value)  # bounded as the profile form bounds it
            if preferences.user_value(self.owner, key) == value:
                self.summary.present["settings"] += 1
            else:
                preferences.put_setting(key, value, user_id=self.owner)
                self.summary.imported["settings"] += 1

    def provider(self, record: dict[str, Any]) -> None:
        name = f.text(record, "name", 80, required=True)
        base_url = f.text(record, "base_url", 500)
        if base_url is not None and not is_http_url(base_url):
            raise f.FieldError(_("base_url must be an http(s) address."))
        prices = f.mapping(record, "price_overrides")
        values = {
            "name": name,
            "name_key": normalize_name(name),
            "kind": f.choice(record, "kind", PROVIDER_KINDS),
            "base_url": base_url,
            "models": f.strings(record, "models", 200),
            "price_overrides": prices,
            "enabled": f.boolean(record, "enabled", True),
            "local_runtime": f.boolean(record, "local_runtime", False),
            "created_at": f.moment(record, "created_at"),
            "updated_at": f.moment(record, "updated_at"),
        }
        if not f.finite_floats_only(prices):
            raise f.FieldError(_("numbers must be finite."))
        if db.session.scalar(Provider.select_by_name(name).with_only_columns(Provider.id)):
            self.summary.present["providers"] += 1
            return
        if not self.providers:
            self.summary.skipped.append(
                _("Provider %(name)s: only an admin can add providers.", name=name)
            )
            return
        db.session.execute(insert(Provider.__table__), [values])
        self.summary.imported["providers"] += 1

    def persona(self, record: dict[str, Any]) -> None:
        name = str(f.text(record, "name", 80, required=True))
        prompt = f.text(record, "prompt", PROMPT_MAX, required=True)
        import_persona(
            name,
            str(prompt),
            self.summary,
            f.moment(record, "created_at"),
            f.moment(record, "updated_at"),
            persona_details(record),
        )

    def chat(self, record: dict[str, Any]) -> None:
        chat_id = f.identifier(record, "id")
        import_key = f.text(record, "import_key", 255)
        values = {
            "id": chat_id,
            "title": f.text(record, "title", 200) or "",
            "persona": f.text(record, "persona", 80),
            "created_at": f.moment(record, "created_at"),
            "updated_at": f.moment(record, "updated_at"),
            "import_key": import_key,
            # Exports older than A Rinha have no kind: chats.
            "kind": f.choice(record, "kind", SessionKind.ALL) if "kind" in record else "chat",
            "params": parameters.from_json(f.mapping(record, "params", nullable=True)).as_json()
            or None,
            "profile_enabled": _optional_boolean(record, "profile_enabled"),
        }
        values["owner_id"] = self.owner
        here = select(ChatSession.id).where(
            ChatSession.owner_id == self.owner,
            (ChatSession.id == chat_id)
            | (ChatSession.import_key == import_key if import_key else False),
        )
        # A contender's conversation is counted with its round, not as a chat.
        counted = "chats" if values["kind"] == SessionKind.CHAT else "arena_conversations"
        if db.session.scalar(here.limit(1)) is not None:
            self.summary.present[counted] += 1
            self.chat_id = None
            return
        if db.session.get(ChatSession, chat_id) is not None:  # another user's copy
            self.renamed[chat_id] = chat_id = values["id"] = uuid.uuid4()
        db.session.execute(insert(ChatSession.__table__), [values])
        self.summary.imported[counted] += 1
        self.chat_id = chat_id
        self.leaf = f.integer(record, "leaf_id")

    def arena_round(self, record: dict[str, Any]) -> None:
        self.flush()  # the contenders' conversations are written before their round
        import_round(record, self.summary, self.renamed)

    def message(self, record: dict[str, Any]) -> None:
        if self.chat_id is None:
            self.summary.present["messages"] += 1
            return
        self.batch.append(_message_row(self.chat_id, record))
        self.is_tree = self.is_tree or "parent_id" in record
        file_id, file_parent = f.integer(record, "id"), f.integer(record, "parent_id")
        # Parents come before their children (as exported): no cycle can be written.
        if file_parent is not None and file_parent not in self.seen:
            raise f.FieldError(_("parent_id must name an earlier message of the same chat."))
        if file_id is not None:
            self.seen.add(file_id)
        self.batch_links.append((file_id, file_parent))
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        keys = [row["import_key"] for row in self.batch if row["import_key"]]
        taken = (
            set(
                db.session.scalars(
                    select(ChatMessage.import_key).where(
                        ChatMessage.import_key.in_(keys),
                        ChatMessage.session_id.in_(
                            select(ChatSession.id).where(ChatSession.owner_id == self.owner)
                        ),
                    )
                )
            )
            if keys
            else set()
        )
        kept = [
            (row, link)
            for row, link in zip(self.batch, self.batch_links, strict=True)
            if row["import_key"] not in taken or not row["import_key"]
        ]
        self.summary.present["messages"] += len(self.batch) - len(kept)
        if kept:
            table = ChatMessage.__table__
            new_ids = db.session.scalars(
                insert(table).returning(table.c.id, sort_by_parameter_order=True),
                [row for row, _link in kept],
            ).all()
            for new_id, (_row, (file_id, file_parent)) in zip(new_ids, kept, strict=True):
                if file_id is not None:
                    self.new_ids[file_id] = new_id
                if file_parent is not None:
                    self.links.append((new_id, file_parent))
            call_rollup.count_rows([row for row, _link in kept])  # A Cuca's sums
        self.summary.imported["messages"] += len(kept)
        self.batch, self.batch_links = [], []

    def end_chat(self) -> None:
        """Write the chat's tree: each message's parent and the version shown; a file without
        them (an older export) makes the chat one branch in order."""
        self.flush()
        if self.chat_id is not None and self.is_tree:
            table = ChatMessage.__table__
            links = [
                {"row": new_id, "parent": self.new_ids[parent]}
                for new_id, parent in self.links
                if parent in self.new_ids  # a parent not in the file: a root here
            ]
            if links:
                db.session.execute(
                    update(table)
                    .where(table.c.id == bindparam("row"))
                    .values(parent_id=bindparam("parent")),
                    links,
                )
            if self.leaf in self.new_ids:
                db.session.execute(
                    update(ChatSession.__table__)
                    .where(ChatSession.__table__.c.id == self.chat_id)
                    .values(leaf_id=self.new_ids[self.leaf])
                )
        elif self.chat_id is not None:
            link_as_single_branch([self.chat_id])
        self.new_ids, self.links, self.is_tree, self.leaf = {}, [], False, None
        self.seen = set()


def import_calango_export(
    raw: IO[bytes],
    progress: Progress | None = None,
    owner_id: int | None = None,
    providers: bool | None = None,
) -> ImportSummary:
    """Import a Calango export from a binary file for ``owner_id`` (default: the current
    user), in one transaction. Its providers are added only when ``providers`` (default:
    the user is an admin, or DESKTOP).

    Raises :class:`ImportFileError` (with the record's place in the file when one is wrong);
    nothing is written then. ``progress`` is called with the number of bytes read.
    """
    with importing_for(owner_id) as owner:
        allowed = may_add_providers(owner) if providers is None else providers
        return _import(raw, progress, allowed)


def may_add_providers(user_id: int) -> bool:
    """Whether an import for ``user_id`` may add providers: DESKTOP, or an admin."""
    if not is_server():
        return True
    user = db.session.get(User, user_id)
    return bool(user is not None and user.is_admin)


def _import(raw: IO[bytes], progress: Progress | None, providers: bool) -> ImportSummary:
    summary = ImportSummary()
    writer = _Writer(summary, providers)
    stream = CountingReader(raw, progress)
    path = ""
    try:
        for kind, path, value in read_export(stream):  # noqa: B007 (path is reported)
            if kind == "chat_end":
                writer.end_chat()
                continue
            if not isinstance(value, dict):
                raise f.FieldError(_("not an object."))
            getattr(writer, kind)(value)
        writer.end_chat()
        db.session.commit()
    except f.FieldError as exc:
        db.session.rollback()
        raise ImportFileError(_("%(path)s: %(error)s", path=path, error=exc)) from None
    except ImportFileError:
        db.session.rollback()
        if stream.read_bytes == 0:
            raise ImportFileError(_("The file is empty.")) from None
        raise
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("export import failed")
        raise ImportFileError(_("The import could not be saved. Nothing was imported.")) from None
    except BaseException:
        db.session.rollback()
        raise
    return summary
