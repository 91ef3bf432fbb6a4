"""Everything out and back in: every field comes back, nothing is duplicated."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, select

from calango.accounts import local_user_id
from calango.extensions import db
from calango.models import (
    ArenaContender,
    ArenaRound,
    ArenaVote,
    ChatMessage,
    ChatSession,
    Persona,
    Provider,
    Setting,
    UserSetting,
)
from calango.services.exports.export import chat_json, chat_markdown, export_all
from calango.services.imports import ImportFileError
from calango.services.imports.calango_export import import_calango_export
from calango.services.imports.legacy import import_legacy
from tests.data.conftest import counts

T0 = datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _varied_database(sample: bytes) -> None:
    """The legacy sample plus rows using every field and status."""
    import_legacy(sample)
    arena_round = db.session.scalars(select(ArenaRound)).one()  # the sample's arena records
    arena_round.blind = True
    arena_round.votes.append(ArenaVote(turn=0, outcome="winner", winner_slot=1, created_at=T0))
    chat = ChatSession(
        id=uuid.uuid4(),
        title="Tudo: ação, 🦎, <b>html</b>",
        persona=None,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=5),
        params={"temperature": 0.3, "effort": "low"},
        profile_enabled=False,
    )
    chat.messages = [
        ChatMessage(role="system", content="Be brief.", timestamp=T0),
        ChatMessage(role="user", content="Olá\nmundo ```x```", timestamp=T0),
        ChatMessage(
            role="assistant",
            content="partial",
            status="stopped",
            timestamp=T0 + timedelta(seconds=1),
            provider="Groq",
            model="llama-3.1-8b-instant",
            persona="Pirata",
            token_usage={"prompt": 10, "completion": 3, "total": 13, "estimated": True},
            cost=Decimal("0.12345678"),
            ttft_ms=210,
            total_ms=1830,
            params={"temperature": 0.3, "max_tokens": 700},
            profile_sent=True,
        ),
        ChatMessage(
            role="assistant",
            content="",
            status="error",
            error="Rate limited (429).",
            timestamp=T0 + timedelta(seconds=2),
            provider="Groq",
            model="m",
        ),
        ChatMessage(role="assistant", content="cut", status="interrupted", timestamp=T0),
    ]
    empty = ChatSession(title="", created_at=T0, updated_at=T0)
    db.session.add_all([chat, empty])
    provider = Provider(
        name="Groq",
        kind="openai",
        base_url="https://api.groq.com/openai/v1",
        models=["llama-3.1-8b-instant"],
        price_overrides={"llama-3.1-8b-instant": {"input": 0.05, "output": 0.08}},
        enabled=False,
    )
    provider.set_api_key("gsk-secret-never-exported-1234")
    db.session.add(provider)
    db.session.add(
        Persona(
            name="Rica",
            prompt="Full of details.",
            description="A persona using every field.",
            avatar_emoji="🦜",
            avatar_image=_avatar_png(),
            has_avatar_image=True,
            traits=["curious", "kind"],
            starters=["Hello?", "Tell me more"],
            default_provider="Groq",
            default_model="llama-3.1-8b-instant",
            params={"temperature": 1.2, "max_tokens": 900},
            created_at=T0,
            updated_at=T0,
        )
    )
    me = local_user_id()  # per-person preferences live in user_settings
    UserSetting.put(
        me, "profile", {"enabled": True, "name": "Ana", "language": "pt", "work": "", "style": ""}
    )
    UserSetting.put(me, "language", "pt_BR")
    UserSetting.put(me, "last_chat_choice", {"provider": "Groq", "model": "m", "persona": ""})
    db.session.flush()
    # A tree: system → question → the stopped answer → the error; the interrupted answer is
    # another version of the stopped one, and the chat shows the stopped one's branch.
    system, question, stopped, failed, other = chat.messages
    question.parent_id, stopped.parent_id, failed.parent_id = system.id, question.id, stopped.id
    other.parent_id = question.id
    chat.leaf_id = failed.id
    db.session.commit()


def _avatar_png() -> bytes:
    """An avatar as the app makes them (importing makes it again, to the same bytes)."""
    from PIL import Image

    from calango.services.avatars import make_avatar

    out = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 120, 60)).save(out, format="PNG")
    return make_avatar(out.getvalue())


def _snapshot() -> dict[str, Any]:
    """Every stored field, except generated row ids and the (never exported) API keys."""
    db.session.expire_all()

    def row(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        return {
            c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs if c.key not in skip
        }

    chats = {}
    for chat in db.session.scalars(select(ChatSession)):
        messages = list(db.session.scalars(ChatMessage.select_for_session(chat.id)))
        # The tree by position in the chat (ids are generated anew by an import).
        at = {m.id: i for i, m in enumerate(messages)}
        chats[chat.id] = {
            **row(chat, ("leaf_id",)),
            "leaf": at.get(chat.leaf_id),
            "messages": [
                {**row(m, ("id", "parent_id")), "parent": at.get(m.parent_id)} for m in messages
            ],
        }
    return {
        "chats": chats,
        "providers": {
            p.name: row(p, ("id", "api_key_encrypted", "api_key_hint"))
            for p in db.session.scalars(select(Provider))
        },
        "personas": {p.name: row(p, ("id",)) for p in db.session.scalars(select(Persona))},
        "settings": {s.key: s.value for s in db.session.scalars(select(Setting))},
        "user_settings": {
            s.key: s.value
            for s in db.session.scalars(select(UserSetting).order_by(UserSetting.key))
        },
        "rounds": [
            {
                **row(r, ("id",)),
                "contenders": [row(c, ("id", "round_id")) for c in r.contenders],
                "votes": [row(v, ("id", "round_id")) for v in r.votes],
            }
            for r in db.session.scalars(select(ArenaRound).order_by(ArenaRound.created_at))
        ],
    }


def _wipe() -> None:
    for model in (ArenaVote, ArenaContender, ArenaRound, ChatMessage, ChatSession, Provider,
                  Persona, Setting, UserSetting):  # fmt: skip
        db.session.execute(delete(model))
    db.session.commit()


def test_export_then_import_into_an_empty_database_brings_back_every_field(app_ctx, sample_bytes):
    _varied_database(sample_bytes)
    before = _snapshot()
    exported = "".join(export_all()).encode()
    assert b"gsk-secret" not in exported and b"api_key" not in exported

    _wipe()
    summary = import_calango_export(io.BytesIO(exported))
    assert summary.imported["chats"] == 7
    assert summary.imported["rounds"] == 1
    after = _snapshot()
    assert _diff(after, before) == []

    # Into a non-empty database (the same data): nothing is duplicated.
    again = import_calango_export(io.BytesIO(exported))
    assert again.nothing_new
    assert _snapshot() == before


def test_import_into_a_database_with_other_chats_keeps_both(app_ctx, sample_bytes):
    import_legacy(sample_bytes)
    exported = "".join(export_all()).encode()
    _wipe()
    mine = ChatSession(title="Mine", created_at=T0, updated_at=T0)
    db.session.add(mine)
    db.session.commit()
    import_calango_export(io.BytesIO(exported))
    assert counts()["chats"] == 8  # sessions: 5 chats, 2 arena conversations and mine
    # A legacy import afterwards recognises the chats that came through the export.
    assert import_legacy(sample_bytes).nothing_new


def test_one_chat_as_json_imports_back(app_ctx, sample_bytes):
    _varied_database(sample_bytes)
    chat = db.session.scalars(select(ChatSession).where(ChatSession.title.like("Tudo%"))).one()
    before = _snapshot()["chats"][chat.id]
    text = "".join(chat_json(chat.id))
    document = json.loads(text)
    assert [c["title"] for c in document["chats"]] == [chat.title]
    db.session.delete(chat)
    db.session.commit()
    summary = import_calango_export(io.BytesIO(text.encode()))
    assert summary.imported["chats"] == 1 and summary.imported["messages"] == 5
    assert _snapshot()["chats"][chat.id] == before


def test_one_chat_as_markdown(app_ctx, sample_bytes):
    _varied_database(sample_bytes)
    chat = db.session.scalars(select(ChatSession).where(ChatSession.title.like("Tudo%"))).one()
    text = "".join(chat_markdown(chat.id))
    assert text.startswith("# Tudo: ação, 🦎, <b>html</b>\n")
    assert "## You · " in text and "Olá\nmundo ```x```" in text
    assert "## llama-3.1-8b-instant (Groq) · " in text
    assert "> Error: Rate limited (429)." in text
    assert "(the answer was cut short)" in text


def _exported_with(mutate) -> bytes:
    document = json.loads("".join(export_all()))
    mutate(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["chats"][1]["messages"][0].update(role="wizard"), "chats[1].messages[0]: "),
        (lambda d: d["chats"][2].update(id="not-a-uuid"), "chats[2]: id must be a UUID"),
        (lambda d: d["chats"][0]["messages"][1].update(cost="-3"), "cost must be an amount"),
        (lambda d: d["chats"][0]["messages"][1].update(timestamp=5), "must be a date and time"),
        (lambda d: d["providers"][0].update(kind="skynet"), "providers[0]: kind must be one of"),
        (lambda d: d["chats"][0].update(title="x" * 201), "title is longer than 200"),
        (lambda d: d.update(version=99), "newer Calango"),
    ],
)
def test_a_bad_record_stops_the_import_and_nothing_is_kept(app_ctx, sample_bytes, mutate, expected):
    import_legacy(sample_bytes)
    raw = _exported_with(mutate)
    _wipe()
    with pytest.raises(ImportFileError) as excinfo:
        import_calango_export(io.BytesIO(raw))
    assert expected in excinfo.value.message
    assert counts() == {"chats": 0, "messages": 0, "providers": 0, "personas": 0}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "The file is empty."),
        (b'{"format": "calango-export", "version": 1, "chats": [{"id": ', "truncated"),
        (b'[{"title": "a ChatGPT conversation", "mapping": {}}]', "not a Calango export"),
        (b'{"history": {}}', "not a Calango export"),
        (b'{"format": "calango-export", "chats": [{"title": "\xe9t\xe9"}]}', "not UTF-8"),
        (b'{"format": "calango-export"} trailing', "not valid JSON"),
        (
            b'{"format": "calango-export", "chats": [{"metadata": '
            + b'{"a": ' * 300_000
            + b"1"
            + b"}" * 300_000,
            "nested more than 64 levels deep",
        ),
    ],
)
def test_files_that_are_not_exports_are_refused(app_ctx, raw, expected):
    with pytest.raises(ImportFileError) as excinfo:
        import_calango_export(io.BytesIO(raw))
    assert expected in excinfo.value.message


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in set(a) | set(b):
            out += _diff(a.get(k), b.get(k), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _diff(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_unknown_or_malformed_settings_are_skipped(app_ctx):
    raw = json.dumps(
        {
            "format": "calango-export",
            "version": 1,
            "settings": {
                "theme": "neon",
                "language": "xx",
                "last_chat_choice": {"provider": ["not", "text"]},
                "secret_flag": True,
                "theme_ok": None,
            },
            "chats": [],
        }
    ).encode()
    summary = import_calango_export(io.BytesIO(raw))
    assert len(summary.skipped) == 5
    assert "Setting secret_flag: not one Calango uses." in summary.skipped
    assert db.session.get(Setting, "secret_flag") is None


def test_export_pages_through_chats_and_messages_in_batches(app_ctx, sample_bytes, monkeypatch):
    from calango.services.exports import records

    _varied_database(sample_bytes)
    # Two chats share a creation time: the keyset must page by (created_at, id).
    twin = ChatSession(title="Twin", created_at=T0, updated_at=T0)
    db.session.add(twin)
    db.session.commit()
    whole = json.loads("".join(export_all()))
    monkeypatch.setattr(records, "BATCH", 2)
    paged = json.loads("".join(export_all()))
    assert len(paged["chats"]) == 10
    assert [c["id"] for c in paged["chats"]] == [c["id"] for c in whole["chats"]]
    assert len({c["id"] for c in paged["chats"]}) == 10
    assert paged["chats"] == whole["chats"]


def test_an_imported_avatar_must_be_an_image(app_ctx, sample_bytes):
    import base64

    import_legacy(sample_bytes)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'

    def hostile(document: dict[str, Any]) -> None:
        document["personas"][0]["avatar_image"] = base64.b64encode(svg).decode()

    raw = _exported_with(hostile)
    _wipe()
    with pytest.raises(ImportFileError) as excinfo:
        import_calango_export(io.BytesIO(raw))
    assert "avatar_image must be an image" in excinfo.value.message
    assert counts()["personas"] == 0
