"""Chat use cases: send a message, rename and delete chats (what the composer offers is in
calango.services.composer)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    false,
    func,
    insert,
    select,
    update,
)

from calango.accounts import current_user_id, is_server, user_kept_loaded
from calango.encryption import KeyDecryptionError
from calango.extensions import db
from calango.i18n import format_number
from calango.llm import (
    Price,
    ProviderSettings,
    can_see_images,
    context_budget,
    env_key_names,
    find_price,
    resolve_api_key,
    trim_to_budget,
)
from calango.models import (
    ChatMessage,
    ChatSession,
    MessageStatus,
    Persona,
    Provider,
    SessionKind,
    Setting,
)
from calango.models.chat import TITLE_MAX
from calango.models.names import normalize_name
from calango.models.types import utcnow
from calango.services import (
    attachments,
    budgets,
    call_rollup,
    network_policy,
    parameters,
    spend_cap,
)
from calango.services.branches import (
    Branch,
    LeafOf,
    SendView,
    newest_message_id,
    read_branch,
    read_for_send,
)
from calango.services.builtin_personas import persona_name_keys
from calango.services.composer import split_model_value
from calango.services.file_intake import AttachmentRefused, PreparedFile, Upload, prepare_files
from calango.services.generation import (
    UNREAD,
    Generation,
    GenerationRequest,
    request_stop,
    start_generation,
)
from calango.services.message_html import NO_HTML, final_html_values
from calango.services.personas import prime_avatar, visible_to
from calango.services.preferences import (
    prime_settings,
    primed_columns,
    primed_keys,
    remember_chat_choice,
)
from calango.services.profile import block_for
from calango.services.titles import clean_title


class ChatInputError(Exception):
    """The message cannot be sent; ``message`` is translated and safe to show."""

    def __init__(self, message: str, status: int = 400, link: tuple[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.link = link  # (endpoint, label) of the page where the user can fix it


@dataclass
class SendResult:
    chat: ChatSession
    user_message: ChatMessage
    assistant_message: ChatMessage
    generation: Generation


def title_from(text: str) -> str:
    """A chat title from its first message (calango.services.titles.clean_title)."""
    return clean_title(text)


def message_count(chat: ChatSession) -> int:
    """How many messages the chat holds (shown before deleting it)."""
    count = db.session.scalar(
        select(func.count()).select_from(ChatMessage).where(ChatMessage.session_id == chat.id)
    )
    return count or 0


def provider_link() -> tuple[str, str]:
    """Where providers are set up: (endpoint, label); the route makes the address."""
    return "providers.index", _("Settings → Providers")


def _model_of(provider: Provider, value: str) -> str:
    """The model the menu's ``value`` names for ``provider``.

    A pair of another provider is refused rather than sent to the provider picked (without
    the script, both menus can be changed independently): the same model name at another
    provider can cost a lot more, or be a different model altogether."""
    provider_id, model = split_model_value(value)
    if provider_id is None or (value in provider.models and model not in provider.models):
        return value  # a bare name (or a model whose own name looks like a pair)
    owner = db.session.get(Provider, provider_id) if provider_id != provider.id else None
    if owner is not None:
        raise ChatInputError(
            _(
                "The model “%(model)s” you picked is the one of “%(other)s”, not of "
                "“%(name)s”. Pick one of the models of “%(name)s”, or the provider "
                "“%(other)s”.",
                model=model,
                other=owner.name,
                name=provider.name,
            ),
        )
    return model


@dataclass
class Lookup:
    """What the send's first statement reads."""

    provider: Provider | None
    persona: Persona | None
    leaf_hint: int | None = None  # the chat's leaf_id (a hint: the claim comes later)
    message_ids: tuple[int, int] | None = None  # PostgreSQL: two ids from the sequence
    default_budget: Any = None  # SERVER: the instance's default monthly budget (raw setting)
    title_setting: Any = UNREAD  # a send: the auto-title setting (services.auto_titles)


@functools.cache
def _lookup_query(
    with_chat: bool, budgets_apply: bool, server: bool, ids: bool, personas: int, titles: bool
) -> Select[Any]:
    """The statement of :func:`_lookup` for one shape, built once (building it cost more CPU
    than running it). Bound: ``me``, ``provider_key``, ``chat_id`` (``with_chat``), the
    persona's ``keys`` (expanding) and ``exact`` (``personas``: 0, 1 or several keys)."""
    me = bindparam("me", type_=Integer())
    extra: list[Any] = []
    if with_chat:
        chat_id = bindparam("chat_id", type_=ChatSession.__table__.c.id.type)
        leaf = select(ChatSession.leaf_id).where(
            ChatSession.id == chat_id, ChatSession.owner_id == me
        )
        extra.append(leaf.scalar_subquery())
    if budgets_apply:  # read with the provider: checking the budget costs no statement
        default = select(Setting.value).where(Setting.key == budgets.DEFAULT_BUDGET_KEY)
        extra.append(default.scalar_subquery())
    if server:  # the SSRF guard's policy, read here rather than in a statement of its own
        extra.append(network_policy.stored_choice())
    if titles:  # whether the answer names its chat: the producer then needs no read of it
        from calango.services.auto_titles import SETTING_KEY  # (it imports this module)

        extra.append(select(Setting.value).where(Setting.key == SETTING_KEY).scalar_subquery())
    if ids:
        sequence = func.pg_get_serial_sequence(ChatMessage.__tablename__, "id")
        extra += [func.nextval(sequence), func.nextval(sequence)]
    # Only a persona this user may see (their own before a shared one of the same name).
    keys = bindparam("keys", expanding=True, type_=String())
    persona_match = and_(Persona.name_key.in_(keys), visible_to(me)) if personas else false()
    query = (
        select(Provider, Persona, *extra, *primed_columns(me))
        .select_from(Provider)
        .outerjoin(Persona, persona_match)
        .where(Provider.name_key == bindparam("provider_key", type_=String()))
    )
    if personas > 1:  # a built-in persona's name in another language: the exact name wins
        exact = bindparam("exact", type_=String())
        query = query.order_by(case((Persona.name_key == exact, 0), else_=1))
    if personas:
        query = query.order_by(case((Persona.owner_id == me, 0), else_=1))
    return query.limit(1)


def _lookup(
    provider_name: str,
    persona_name: str,
    session_id: uuid.UUID | None = None,
    take_ids: bool = False,
) -> Lookup:
    """The provider and the persona by name, with the preferences this request needs
    (language, theme, last choice), the chat's leaf (``session_id``) and, for a send
    (``take_ids``), the auto-title setting and on PostgreSQL two message ids, in one
    statement."""
    server = is_server()
    ids = take_ids and db.session.get_bind().dialect.name == "postgresql"
    budgets_apply = take_ids and server
    # A built-in persona's name in another language finds it too; the exact name wins.
    keys = persona_name_keys(persona_name) if persona_name else []
    params: dict[str, Any] = {
        "me": current_user_id(),
        "provider_key": normalize_name(provider_name),
    }
    if session_id is not None:
        params["chat_id"] = session_id
    if keys:
        params["keys"], params["exact"] = keys, keys[0]
    shape = (session_id is not None, budgets_apply, server, ids, min(len(keys), 2), take_ids)
    query = _lookup_query(*shape)
    row = db.session.execute(query, params).first()
    if row is None:
        return Lookup(None, None)
    found = Lookup(row[0], row[1])
    rest = list(row[2:])
    if session_id is not None:
        found.leaf_hint = rest.pop(0)
    if budgets_apply:
        found.default_budget = rest.pop(0)
    if server:
        network_policy.prime_choice(rest.pop(0))
    if take_ids:
        found.title_setting = rest.pop(0)
    if ids:
        found.message_ids = (rest.pop(0), rest.pop(0))
    prime_settings(dict(zip(primed_keys(), rest, strict=True)))
    return found


def resolve_provider(name: str, value: str) -> tuple[Provider, ProviderSettings, str]:
    """The provider called ``name``, its settings (key resolved) and the model the menu's
    ``value`` names, for a caller that starts answers itself (regenerate, the arena); raises
    ChatInputError (translated) for anything the user must fix."""
    return _resolve_provider(_lookup(name, "").provider, name, value)


def _resolve_provider(
    provider: Provider | None, name: str, value: str
) -> tuple[Provider, ProviderSettings, str]:
    if provider is None:
        raise ChatInputError(
            _("The provider “%(name)s” no longer exists. Pick another one.", name=name),
            link=provider_link(),
        )
    if not provider.enabled:
        raise ChatInputError(
            _("The provider “%(name)s” is disabled. Enable it or pick another one.", name=name),
            link=provider_link(),
        )
    model = _model_of(provider, value)
    if model not in provider.models:
        raise ChatInputError(
            _(
                "The model “%(model)s” is not offered by “%(name)s” any more. Pick another "
                "model or add it to the provider.",
                model=model,
                name=name,
            ),
            link=provider_link(),
        )
    try:
        stored = provider.get_api_key()
    except KeyDecryptionError as exc:
        raise ChatInputError(str(exc), link=provider_link()) from None
    api_key = resolve_api_key(provider.kind, provider.base_url, stored)
    if not api_key:
        env = " / ".join(env_key_names(provider.kind, provider.base_url))
        if env:
            message = _(
                "The provider “%(name)s” has no API key. Add one in Settings → Providers or set "
                "%(vars)s.",
                name=provider.name,
                vars=env,
            )
        else:
            message = _(
                "The provider “%(name)s” has no API key. Add one in Settings → Providers.",
                name=provider.name,
            )
        raise ChatInputError(message, link=provider_link())
    config = current_app.config
    settings = ProviderSettings(
        name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        api_key=api_key,
        connect_timeout=config["PROVIDER_CONNECT_TIMEOUT"],
        read_timeout=config["PROVIDER_READ_TIMEOUT"],
        max_retries=config["PROVIDER_MAX_RETRIES"],
        allow_private_addresses=network_policy.local_providers_allowed(),
    )
    return provider, settings, model


def build_context(
    chat: ChatSession | None,
    persona_prompt: str | None,
    new_text: str | None,
    model: str,
    branch: Branch | None = None,
    profile: str | None = None,
    files: Sequence[PreparedFile] = (),
) -> list[dict[str, Any]]:
    """System prompt, the "who I am" profile (a second system block), the visible branch's
    messages in order (their text and files), the new message with its ``files`` (None: the
    branch already ends with the question, as when regenerating); trimmed oldest-first to the
    model's context budget. ``branch`` is the turns when the caller read them already.

    Files are read only when the branch has some (``Branch.files``); pictures go to models
    that can see them, a note to the others (``services.attachments``)."""
    messages: list[dict[str, Any]] = []
    if persona_prompt:
        messages.append({"role": "system", "content": persona_prompt})
    if profile:
        messages.append({"role": "system", "content": profile})
    if branch is None and chat is not None:
        branch = read_branch(chat, chat.leaf_id)  # one query whatever the chat's length
    vision: bool | None = None
    if branch is not None:
        attached = attachments.load_for_context(branch.files.values()) if branch.files else {}
        if attached:
            vision = can_see_images(model)
        for index, (role, content) in enumerate(branch.turns):
            message_files = attached.get(branch.files.get(index, -1))
            if message_files:
                messages.append(
                    attachments.context_message(role, content, message_files, bool(vision))
                )
            else:
                messages.append({"role": role, "content": content})
    if new_text is not None:
        if files:
            vision = can_see_images(model) if vision is None else vision
            messages.append(attachments.context_message("user", new_text, files, vision))
        else:
            messages.append({"role": "user", "content": new_text})
    return trim_to_budget(messages, context_budget(model))


@functools.cache
def _claim_query(keys: tuple[str, ...], copy: bool) -> Any:
    """The claim's ``UPDATE … RETURNING`` setting the columns ``keys`` (bound as
    ``new_<key>``), built once per shape; ``copy``: a Core statement returning the row."""
    table = ChatSession.__table__
    statement = (
        update(table if copy else ChatSession)
        # Only the sender's own chat (another user's is as missing as a deleted one), and
        # never a contender's conversation in A Rinha.
        .where(
            table.c.id == bindparam("claim_id", type_=table.c.id.type),
            table.c.owner_id == bindparam("claim_owner", type_=Integer()),
            table.c.kind == SessionKind.CHAT,
        )
        .values(
            {key: bindparam(f"new_{key}", type_=table.c[key].type) for key in keys}
            # The message written next is the chat's newest: the visible branch ends there.
            | {"leaf_id": None}
        )
    )
    return statement.returning(*table.c) if copy else statement.returning(ChatSession)


def _claim_for_sending(
    session_id: uuid.UUID,
    now: datetime,
    persona: Persona | None,
    chat_values: dict[str, Any] | None = None,
    copy: bool = False,
) -> ChatSession:
    """Take the chat for this send (the chat, updated with ``chat_values`` too, in the same
    statement).

    Two tabs sending at once would each build a context without the other's answer. The
    UPDATE comes first: it locks the chat's row on PostgreSQL (and takes SQLite's single write
    lock), so a second send waits here until the first has committed its ``streaming``
    answer; the branch read after it, a fresh statement, then sees that answer
    (``branches.read_for_send``), and the send is refused while it is being written
    (``refuse_if_busy``).

    ``copy``: this session holds no copy of the chat (the send): the chat comes back as a
    transient object built from the returned row, which costs less CPU than the ORM's
    ``UPDATE … RETURNING`` of an entity. Otherwise the loaded chat is refreshed.
    """
    values = {
        "updated_at": now,
        "persona": persona.name if persona is not None else None,
        "persona_id": persona.id if persona is not None else None,
        **(chat_values or {}),
    }
    params = {f"new_{key}": value for key, value in values.items()}
    params.update(claim_id=session_id, claim_owner=current_user_id())
    statement = _claim_query(tuple(values), copy)
    chat: ChatSession | None
    if copy:
        row = db.session.execute(statement, params).first()
        chat = ChatSession(**row._mapping) if row is not None else None
    else:
        chat = db.session.execute(statement, params).scalar_one_or_none()
    if chat is None:
        db.session.rollback()
        raise ChatInputError(_("This chat no longer exists."), status=404)
    return chat


def refuse_over_budget(default: Any = budgets.UNSET) -> None:
    """Refuse (402) when the user's monthly budget is used up, before any provider call.
    ``default``: the default-budget setting when the caller read it already."""
    try:
        budgets.check_budget(current_user_id(), default)
    except budgets.BudgetExceeded as exc:
        db.session.rollback()
        raise ChatInputError(exc.message, status=exc.status) from None


def price_of(provider: Provider, model: str) -> Price | None:
    """The price of ``model`` at ``provider`` (None: unknown)."""
    return find_price(
        provider_name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        model=model,
        overrides=provider.price_overrides,
        local_runtime=provider.local_runtime,
    )


def refuse_over_cap(
    session_id: uuid.UUID | None,
    cap: Decimal,
    model: str,
    context: list[dict[str, str]],
    price: Price | None,
) -> None:
    """Refuse (402) a turn whose estimated input cost would take the chat's spend past its
    ``cap``, before any provider call (one statement: the chat's spend)."""
    tokens = spend_cap.context_tokens(model, context)
    estimate = spend_cap.Estimate(tokens, price, cap, spend_cap.chat_spend(session_id))
    if estimate.over_cap:
        db.session.rollback()
        raise ChatInputError(spend_cap.refusal(estimate), status=402)


def typed_cap(options: parameters.SendOptions) -> dict[str, Any]:
    """The chat's new cap as column values (none when the composer did not offer the field);
    raises ChatInputError for an amount out of range."""
    if options.spend_cap is None:
        return {}
    try:
        return {"spend_cap_usd": spend_cap.parse_cap(options.spend_cap)}
    except spend_cap.InvalidCap as exc:
        raise ChatInputError(str(exc)) from None


def refuse_if_busy(view: SendView) -> None:
    """Refuse the send while an answer in the chat (on any branch) is being written."""
    if view.busy:
        db.session.rollback()
        raise ChatInputError(
            _(
                "An answer in this chat is still being written. Wait for it to finish, "
                "or stop it, then send your message again."
            ),
            status=409,
        )


def send_message(
    session_id: uuid.UUID | None,
    text: str,
    provider_name: str,
    model: str,
    persona_name: str,
    options: parameters.SendOptions | None = None,
    uploads: Sequence[Upload] = (),
) -> SendResult:
    """Commit the user message and a ``streaming`` assistant message, then start the answer.

    ``options`` carries the chat's model parameters (the persona's defaults fill what is not
    set) and the profile toggle; ``uploads`` the attached files (checked first, before any
    statement: ``services.file_intake``; a picture for a model that cannot see it is refused
    before anything is saved or sent).

    Raises ChatInputError (translated) for anything the user must fix; nothing is saved then.
    """
    limit = current_app.config["MAX_MESSAGE_CHARS"]
    text = text.replace("\r\n", "\n")  # browsers submit textarea lines with CRLF
    files: list[PreparedFile] = []
    if uploads:
        try:
            files = prepare_files(list(uploads))
        except AttachmentRefused as exc:
            raise ChatInputError(exc.message, status=exc.status) from None
    if not text.strip() and not files:
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
    found = _lookup(provider_name, persona_name, session_id, take_ids=True)
    refuse_over_budget(found.default_budget)
    persona = found.persona
    provider, settings, model = _resolve_provider(found.provider, provider_name, model)
    if files and attachments.has_images(files) and not can_see_images(model):
        raise ChatInputError(
            _(
                "The model “%(model)s” cannot see images, so nothing was sent. Pick a model "
                "that can (such as GPT-4o, Claude or Gemini), or remove the images.",
                model=model,
            )
        )
    persona_prompt = None
    if persona_name:
        if persona is None:
            raise ChatInputError(
                _("The persona “%(name)s” no longer exists. Pick another one.", name=persona_name)
            )
        persona_name, persona_prompt = persona.name, persona.prompt
        prime_avatar(persona)  # the answer's bubble shows it: no second read
    options = options or parameters.SendOptions()
    try:
        chosen = options.params()
    except parameters.InvalidParameters as exc:
        raise ChatInputError(str(exc)) from None
    # The persona's defaults come from the Persona row the lookup read: no extra statement.
    params = parameters.merged(chosen, parameters.from_json(persona and persona.params))
    chat_values: dict[str, Any] = {"params": chosen.as_json() or None, **typed_cap(options)}
    if options.profile is not None:
        chat_values["profile_enabled"] = options.profile

    now = utcnow()
    chat: ChatSession | None = None
    parent_id: int | None = None
    if session_id is not None:
        chat = _claim_for_sending(session_id, now, persona, chat_values, copy=True)
        start = LeafOf(found.leaf_hint)
        view = read_for_send(chat.id, start, now, newest_id=found.message_ids is None)
        refuse_if_busy(view)
        parent_id, newest_id, branch = view.branch.leaf_id, view.newest_id, view.branch
    else:
        branch = Branch()
    # The profile setting was primed by the lookup; the toggle holds or the chat's choice.
    profile = block_for(chat, options.profile)
    context = build_context(chat, persona_prompt, text, model, branch, profile, files)
    # The default cap came with the lookup's settings, the chat's own with the claim.
    own_cap = chat.spend_cap_usd if chat is not None else chat_values.get("spend_cap_usd")
    cap = spend_cap.cap_for(own_cap)
    price: Price | None = None
    if cap is not None:
        price = price_of(provider, model)
        refuse_over_cap(chat.id if chat is not None else None, cap, model, context, price)
    if chat is None:
        title = title_from(text) if text.strip() else title_from(files[0].name)
        values = dict(
            id=uuid.uuid4(), title=title, created_at=now, updated_at=now,
            owner_id=current_user_id(), kind=SessionKind.CHAT,
            persona=persona_name or None, persona_id=persona.id if persona else None,
            **chat_values,
        )  # fmt: skip
        # A Core INSERT, and the chat handed on as a transient object: the ORM's unit of
        # work would cost more CPU than the statement.
        db.session.execute(insert(ChatSession.__table__), values)
        chat = ChatSession(**values)
    if found.message_ids is not None:  # PostgreSQL: taken from the sequence in _lookup
        user_id, assistant_id = sorted(found.message_ids)
    else:  # SQLite: this transaction holds the write lock (the claim, or the chat's INSERT)
        if session_id is None:
            newest_id = newest_message_id()
        user_id, assistant_id = newest_id + 1, newest_id + 2
    # Both messages in one multi-row INSERT (the ORM would send one per row), with their ids
    # given so that the answer can name the question as its parent.
    common = {"session_id": chat.id, "timestamp": now, "persona": persona_name or None}
    rows = [
        dict(id=user_id, parent_id=parent_id, role="user", content=text,
             status=MessageStatus.COMPLETE, provider=None, model=None, heartbeat_at=None,
             params=None, profile_sent=None, file_count=len(files) or None, **common,
             **final_html_values(text)),
        dict(id=assistant_id, parent_id=user_id, role="assistant", content="",
             status=MessageStatus.STREAMING, provider=provider.name, model=model,
             heartbeat_at=now, params=params.as_json() or None,
             profile_sent=profile is not None, file_count=None, **common, **NO_HTML),
    ]  # fmt: skip
    # One multi-row Core INSERT (the ids are known: nothing to return); the page renders
    # the two bubbles from transient objects holding the same values.
    db.session.execute(insert(ChatMessage.__table__), rows)
    user_message, assistant = ChatMessage(**rows[0]), ChatMessage(**rows[1])
    attachments.store(user_message.id, files)  # no statement without files
    remember_chat_choice(provider, model, persona)
    with user_kept_loaded():  # the page rendered next reads the user: no second SELECT
        db.session.commit()

    if cap is None:
        price = price_of(provider, model)
    generation = start_generation(
        GenerationRequest(
            message_id=assistant.id,
            settings=settings,
            model=model,
            messages=context,
            price=price,
            locale=str(get_locale() or "en"),
            params=params,
            title_setting=found.title_setting,
        )
    )
    return SendResult(chat, user_message, assistant, generation)


def rename_chat(chat: ChatSession, title: str) -> None:
    """Give a chat a new title (the form has validated it)."""
    chat.title = title.strip()[:TITLE_MAX]
    db.session.commit()


def delete_chat(chat: ChatSession) -> None:
    """Delete a chat, its messages and the files no other message links to, stopping an
    answer still being written."""
    streaming = db.session.scalars(
        select(ChatMessage.id).where(
            ChatMessage.session_id == chat.id, ChatMessage.status == MessageStatus.STREAMING
        )
    ).all()
    for message_id in streaming:
        request_stop(message_id)
    call_rollup.forget_chat(chat.id)  # its calls leave A Cuca with it
    file_ids = attachments.file_ids_of_chat(chat.id)
    db.session.delete(chat)
    db.session.flush()
    attachments.forget_unlinked(file_ids)
    db.session.commit()
