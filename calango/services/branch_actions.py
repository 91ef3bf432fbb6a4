"""Versions of a conversation: regenerate an answer, retry a failed one, edit a question and
send it again, delete a message and what follows it.

Each new version is a sibling of the earlier one (same parent), so nothing is lost; the new
message is the chat's newest, so it becomes the visible branch (``leaf_id`` NULL, set by the
claim every send makes). The model is sent the branch up to the new message's parent.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import case, delete, select

from calango.accounts import current_user_id
from calango.extensions import db
from calango.i18n import format_number
from calango.llm import ProviderSettings, can_see_images
from calango.models import ChatMessage, ChatSession, MessageStatus, Persona, Provider
from calango.models.types import utcnow
from calango.services import attachments, branches, call_rollup, generation, spend_cap
from calango.services.chat import (
    ChatInputError,
    _claim_for_sending,
    build_context,
    price_of,
    refuse_if_busy,
    refuse_over_budget,
    refuse_over_cap,
    resolve_provider,
)
from calango.services.file_intake import PreparedFile
from calango.services.generation import Generation, GenerationRequest, request_stop
from calango.services.message_html import final_html_values
from calango.services.personas import visible_to
from calango.services.preferences import remember_chat_choice

# Answers that can be retried with the same model: they did not finish.
RETRYABLE = (MessageStatus.ERROR, MessageStatus.INTERRUPTED, MessageStatus.STOPPED)


@dataclass
class Started:
    """A new version and its answer being written."""

    assistant_message: ChatMessage
    generation: Generation


def start_answer(
    provider: Provider,
    settings: ProviderSettings,
    model: str,
    assistant: ChatMessage,
    context: list[dict[str, str]],
) -> Generation:
    """Start writing the committed ``streaming`` answer ``assistant``: the answer protocol's
    entry point (calango.services.generation.start_answer), with the model's price."""
    price = price_of(provider, model)
    return generation.start_answer(
        GenerationRequest(
            message_id=assistant.id,
            settings=settings,
            model=model,
            messages=context,
            price=price,
            locale=str(get_locale() or "en"),
        )
    )


def _persona(name: str) -> Persona | None:
    if not name:
        return None
    me = current_user_id()
    persona = db.session.scalars(
        Persona.select_by_name(name)
        .where(visible_to(me))
        .order_by(case((Persona.owner_id == me, 0), else_=1))
    ).first()
    if persona is None:
        raise ChatInputError(
            _("The persona “%(name)s” no longer exists. Pick another one.", name=name)
        )
    return persona


def _message(chat: ChatSession, message_id: int, *roles: str) -> ChatMessage:
    message = db.session.get(ChatMessage, message_id) if 0 < message_id < 2**31 else None
    if message is None or message.session_id != chat.id or message.role not in roles:
        raise ChatInputError(_("This message does not exist or was deleted."), status=404)
    return message


def _clean_text(text: str, allow_empty: bool = False) -> str:
    """The same checks as a send (calango.services.chat.send_message); a question with
    files may have no text."""
    limit = current_app.config["MAX_MESSAGE_CHARS"]
    text = text.replace("\r\n", "\n")
    if not text.strip() and not allow_empty:
        raise ChatInputError(_("Type a message before sending."))
    if len(text) > limit:
        raise ChatInputError(
            _(
                "The message has %(length)s characters; the limit is %(limit)s. Shorten it "
                "or split it into several messages.",
                length=format_number(len(text)),
                limit=format_number(limit),
            ),
            status=413,
        )
    return text


def _answer(
    chat: ChatSession,
    parent: ChatMessage | None,
    new_text: str | None,
    provider_name: str,
    model_value: str,
    persona_name: str,
    files_of: ChatMessage | None = None,
) -> Started:
    """Write a new version under ``parent``: a question ``new_text`` (a sibling of the edited
    one, keeping the files of ``files_of``, the question edited) and its answer, or
    (``new_text`` None) only an answer to ``parent``."""
    refuse_over_budget()
    provider, settings, model = resolve_provider(provider_name, model_value)
    persona = _persona(persona_name)
    now = utcnow()
    chat = _claim_for_sending(chat.id, now, persona)  # also sets the persona, leaf_id NULL
    view = branches.read_for_send(chat.id, parent.id if parent else None, now, newest_id=False)
    refuse_if_busy(view)
    files: list[PreparedFile] = []
    if files_of is not None and files_of.file_count:
        files = attachments.load_for_context([files_of.id]).get(files_of.id, [])
        if attachments.has_images(files) and not can_see_images(model):
            db.session.rollback()
            raise ChatInputError(
                _(
                    "The model “%(model)s” cannot see images, so nothing was sent. Pick a "
                    "model that can (such as GPT-4o, Claude or Gemini).",
                    model=model,
                )
            )
    context = build_context(
        chat, persona.prompt if persona else None, new_text, model, view.branch, files=files
    )
    cap = spend_cap.cap_for(chat.spend_cap_usd)
    if cap is not None:
        refuse_over_cap(chat.id, cap, model, context, price_of(provider, model))
    answer_to = parent
    if new_text is not None:
        answer_to = ChatMessage(
            session_id=chat.id, role="user", content=new_text, timestamp=now,
            persona=chat.persona, status=MessageStatus.COMPLETE,
            parent_id=parent.id if parent else None, **final_html_values(new_text),
            file_count=len(files) or None,
        )  # fmt: skip
        db.session.add(answer_to)
        db.session.flush()
        attachments.store(answer_to.id, files)  # the edited question's files, linked again
    assistant = ChatMessage(
        session_id=chat.id, role="assistant", content="", timestamp=now,
        status=MessageStatus.STREAMING, provider=provider.name, model=model,
        persona=chat.persona, heartbeat_at=now,
        parent_id=answer_to.id if answer_to else None,
    )  # fmt: skip
    db.session.add(assistant)
    remember_chat_choice(provider, model, persona)
    db.session.commit()
    return Started(assistant, start_answer(provider, settings, model, assistant, context))


def regenerate(
    chat: ChatSession, message_id: int, provider_name: str, model_value: str, persona_name: str
) -> Started:
    """A new answer to the question answered by ``message_id``, with the model and persona
    picked (the same ones or others); the earlier answer stays as a version. ``message_id``
    may also be a question left without an answer (its answer was deleted)."""
    answer = _message(chat, message_id, "assistant", "user")
    if answer.role == "user":
        return _answer(chat, answer, None, provider_name, model_value, persona_name)
    question = db.session.get(ChatMessage, answer.parent_id) if answer.parent_id else None
    return _answer(chat, question, None, provider_name, model_value, persona_name)


def retry(chat: ChatSession, message_id: int) -> Started:
    """Ask again, with the same provider, model and persona, for an answer that failed."""
    answer = _message(chat, message_id, "assistant")
    if answer.status not in RETRYABLE:
        raise ChatInputError(_("This answer finished; regenerate it instead."), status=409)
    question = db.session.get(ChatMessage, answer.parent_id) if answer.parent_id else None
    return _answer(
        chat, question, None, answer.provider or "", answer.model or "", answer.persona or ""
    )


def edit_and_resend(
    chat: ChatSession,
    message_id: int,
    text: str,
    provider_name: str,
    model_value: str,
    persona_name: str,
) -> Started:
    """Send an edited copy of question ``message_id`` in its place (a sibling: the original
    and what followed it stay as a version)."""
    question = _message(chat, message_id, "user")
    text = _clean_text(text, allow_empty=bool(question.file_count))
    parent = db.session.get(ChatMessage, question.parent_id) if question.parent_id else None
    return _answer(chat, parent, text, provider_name, model_value, persona_name, question)


def editable(chat: ChatSession, message_id: int) -> ChatMessage:
    """The question to edit (ChatInputError 404 when it is not one of the chat's)."""
    return _message(chat, message_id, "user")


def deletion_count(chat: ChatSession, message_id: int) -> tuple[ChatMessage, int]:
    """The message to delete and how many messages go with it (it and what follows)."""
    message = db.session.get(ChatMessage, message_id) if 0 < message_id < 2**31 else None
    if message is None or message.session_id != chat.id:
        raise ChatInputError(_("This message does not exist or was deleted."), status=404)
    return message, len(branches.subtree(branches.children_of(chat.id), message.id))


def delete_message(chat: ChatSession, message_id: int) -> int:
    """Delete a message and everything that follows it (on every branch below it); the chat
    then shows the newest remaining branch through its parent. Returns how many went."""
    message, _count = deletion_count(chat, message_id)
    tree = branches.children_of(chat.id)
    doomed = branches.subtree(tree, message.id)
    streaming = db.session.scalars(
        select(ChatMessage.id).where(
            ChatMessage.id.in_(doomed), ChatMessage.status == MessageStatus.STREAMING
        )
    ).all()
    for streaming_id in streaming:
        request_stop(streaming_id)
    parent = message.parent_id
    call_rollup.forget_messages(doomed)  # their calls leave A Cuca, as a deleted chat's do
    file_ids = attachments.file_ids_of_messages(doomed)
    db.session.execute(delete(ChatMessage).where(ChatMessage.id.in_(doomed)))
    attachments.forget_unlinked(file_ids)
    siblings = [i for i in tree.get(parent, []) if i != message.id]
    for gone in doomed:
        tree.pop(gone, None)
    if siblings:
        tree[parent] = siblings
        chat.leaf_id = branches.newest_descendant(tree, siblings[-1])
    elif parent is not None:
        tree.pop(parent, None)
        chat.leaf_id = parent
    else:
        chat.leaf_id = None
    db.session.commit()
    return len(doomed)
