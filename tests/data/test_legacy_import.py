"""The original Calango's calango.json: what it becomes, and files that are not quite right."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from calango.accounts import local_user_id
from calango.extensions import db
from calango.models import ArenaRound, ChatMessage, ChatSession, Persona, Provider, UserSetting
from calango.services.imports import ImportFileError
from calango.services.imports.legacy import import_legacy, theme_for
from tests.data.conftest import counts, history, tinydb


def _chat(title: str) -> ChatSession:
    return db.session.scalars(select(ChatSession).where(ChatSession.title == title)).one()


def _messages(chat: ChatSession) -> list[ChatMessage]:
    return list(db.session.scalars(ChatMessage.select_for_session(chat.id)))


def test_sample_file_becomes_chats_with_every_exchange(app_ctx, sample_bytes):
    summary = import_legacy(sample_bytes)

    assert summary.imported["chats"] == 5
    assert summary.imported["rounds"] == 1
    assert summary.imported["providers"] == 3
    # 14 records, each a question and its answer (the two arena records are a round's two
    # contenders, each asked the question in its own conversation).
    assert summary.imported["messages"] == 28
    assert counts()["messages"] == 28

    chat = _chat("Como faço um decorator em Pyth..")
    messages = _messages(chat)
    assert [m.role for m in messages] == ["user", "assistant"] * 4
    assert messages[0].content == "Como faço um decorator em Python?"
    first = messages[1]
    assert first.content.startswith("**Resposta 0**")
    assert (first.provider, first.model, first.persona) == ("openai", "gpt-4o", "Calango (Default)")
    assert first.token_usage == {"prompt": 12, "completion": 40, "total": 52, "estimated": False}
    assert first.cost == Decimal("0.0000258")
    assert first.timestamp.isoformat() == "2025-11-03T15:20:38+00:00"
    assert chat.created_at.isoformat() == "2025-11-03T15:18:00+00:00"
    assert chat.updated_at.isoformat() == "2025-11-03T15:38:01+00:00"

    # "Error: ..." replies are errored answers; input/output usage is read too.
    failed = messages[5]
    assert failed.status == "error" and failed.content == ""
    assert failed.error.startswith("Não foi possível conectar ao Ollama.")
    assert failed.token_usage == {"prompt": 0, "completion": 0, "total": 0, "estimated": False}

    # The original's arena records ("rinha-mode") are a round of A Rinha, not a chat.
    arena_round = db.session.scalars(select(ArenaRound)).one()
    assert arena_round.title == "Quem ganha: gato ou calango?"
    assert [(c.provider, c.model) for c in arena_round.contenders] == [
        ("openai", "gpt-4o"),
        ("anthropic", "claude-sonnet-4-5"),
    ]
    for number, contender in enumerate(arena_round.contenders):
        assert contender.session.kind == "arena"
        messages = _messages(contender.session)
        assert [(m.role, m.content) for m in messages] == [
            ("user", "Quem ganha: gato ou calango?"),
            ("assistant", f"Resposta do lutador {number}"),
        ]
        assert messages[1].cost is not None


def test_imported_answers_count_in_a_cuca(app_ctx, client, sample_bytes):
    # Usage in either of the original's shapes lands in the columns the dashboard sums, and
    # an "Error:" reply counts as an error there.
    import_legacy(sample_bytes)
    answers = db.session.scalars(select(ChatMessage).where(ChatMessage.role == "assistant")).all()
    for answer in answers:
        usage = answer.token_usage or {}
        assert answer.prompt_tokens == usage.get("prompt")
        assert answer.completion_tokens == usage.get("completion")
    assert sum(a.prompt_tokens or 0 for a in answers) > 0
    assert [a.error_class for a in answers if a.status == "error"] == ["unknown"]
    db.session.remove()
    page = client.get("/cuca/?period=all").get_data(as_text=True)
    total_in = sum(a.prompt_tokens or 0 for a in answers)
    assert f"{total_in:,}" in page


def test_sample_providers_keys_encrypted_theme_and_personas(app_ctx, sample_bytes):
    import_legacy(sample_bytes)
    providers = {p.name: p for p in db.session.scalars(Provider.select_all())}
    openai = providers["openai"]
    assert openai.models == ["gpt-4o", "gpt-5-mini"]
    assert "sk-legacy" not in (openai.api_key_encrypted or "")
    assert openai.get_api_key() == "sk-legacy-openai-aaaaaaaaaaaaaaaaaaaa"
    assert providers["anthropic"].kind == "anthropic"
    assert providers["ollama"].base_url == "http://localhost:11434/v1"
    assert UserSetting.get(local_user_id(), "theme") == "tie"
    pirata = db.session.scalars(Persona.select_by_name("Pirata")).one()
    assert "pirata" in pirata.prompt


def test_second_import_adds_nothing_and_says_so(app_ctx, sample_bytes):
    import_legacy(sample_bytes)
    before = counts()
    again = import_legacy(sample_bytes)
    assert again.nothing_new
    assert counts() == before
    assert again.present["chats"] == 5 and again.present["messages"] == 28
    assert again.present["rounds"] == 1
    assert "Nothing new to import" in " ".join(again.lines())


def test_new_records_in_a_grown_file_are_added_to_their_chat(app_ctx):
    sessions = [{"id": "s1", "title": "Greeting", "created_at": "2025-01-01T10:00:00"}]
    import_legacy(tinydb(sessions=sessions, history=[history("a")]))
    summary = import_legacy(
        tinydb(
            sessions=sessions,
            history=[history("a"), history("b", question="Again?", timestamp="2025-12-01 09:00")],
        )
    )
    assert summary.imported["messages"] == 2 and summary.imported["chats"] == 0
    chat = _chat("Greeting")
    assert [m.content for m in _messages(chat)] == ["Hello?", "Hi!", "Again?", "Hi!"]
    assert chat.updated_at.isoformat() == "2025-12-01T09:00:00+00:00"


def test_messy_records_are_imported_where_possible_and_reported(app_ctx):
    raw = tinydb(
        sessions=[{"id": "s1", "title": "Kept"}, {"title": "no id"}, "not a session"],
        history=[
            history("dup"),
            history("dup"),  # exact copy: skipped
            history("dup", question="Other question"),  # same id, other record: both kept
            history("noreply", reply=None),
            history("emptyreply", reply="   "),
            "not a record",
            history(None, question="No id at all"),
            history("orphan", session_id="gone-session", question="Where is my chat?"),
            history("nosession", session_id=None, question="No session"),
            history(
                "badtypes",
                question="Bad types",
                provider=42,
                model=["x"],
                persona={"a": 1},
                usage={"input_tokens": "12", "output_tokens": True},
                cost_usd="NaN",
                timestamp="yesterday",
            ),
            history("noq", messages="oops"),
            history("negative", question="Negative cost", cost_usd=-1, usage=[1, 2]),
            history("inout", question="In/out", usage={"input_tokens": 7, "output_tokens": 9}),
        ],
        personas=[{"name": "Only name"}, {"name": "Good", "prompt": "Be good."}],
        config=[{"api_key": "sk-nameless"}, {"name": "groq", "models": ["m1", 3, "m1"]}],
        settings=[{"theme": "Unknown (Purple)"}],
    )
    summary = import_legacy(raw)
    skipped = " | ".join(summary.skipped)
    warnings = " | ".join(summary.warnings)
    assert "history #2: an exact copy of an earlier record." in skipped
    assert "history #4: it has no reply." in skipped
    assert "history #5: it has no reply." in skipped
    assert "history #6: not a record." in skipped
    assert "sessions #2: it has no id." in skipped and "sessions #3" in skipped
    assert "personas #1: it needs a name and a prompt." in skipped
    assert "config #1: a provider without a name." in skipped
    assert "the theme 'Unknown (Purple)' has no equivalent here" in skipped
    assert "its id dup is used by another record too" in warnings
    assert "gone-session" in warnings
    assert "history #11: its question was not found" in warnings

    kept = _messages(_chat("Kept"))
    contents = [m.content for m in kept]
    assert contents.count("Hello?") == 1 and "Other question" in contents
    assert "No id at all" in contents and "Bad types" in contents

    bad = next(m for m in kept if m.role == "assistant" and m.provider is None)
    assert (bad.model, bad.persona, bad.cost) == (None, None, None)
    assert bad.token_usage is None  # "12" and True are not token counts
    negative = kept[contents.index("Negative cost") + 1]
    assert negative.cost is None and negative.token_usage is None
    inout = kept[contents.index("In/out") + 1]
    assert inout.token_usage == {"prompt": 7, "completion": 9, "total": 16, "estimated": False}

    orphans = _messages(_chat("Where is my chat?"))
    assert [m.content for m in orphans] == ["Where is my chat?", "Hi!"]
    assert [m.content for m in _messages(_chat("Imported history without a chat"))] == [
        "No session",
        "Hi!",
    ]
    groq = db.session.scalars(select(Provider).where(Provider.name == "groq")).one()
    assert groq.models == ["m1"] and groq.base_url == "https://api.groq.com/openai/v1"

    # Everything messy is recognised the second time too.
    before = counts()
    assert import_legacy(raw).nothing_new
    assert counts() == before


def test_existing_provider_and_persona_are_kept(app_ctx):
    provider = Provider(name="OpenAI", kind="openai", models=["gpt-4o"])
    db.session.add_all([provider, Persona(name="Pirata", prompt="Mine.")])
    db.session.commit()
    summary = import_legacy(
        tinydb(
            config=[{"name": "openai", "api_key": "sk-from-legacy-123456", "models": ["o3"]}],
            personas=[{"name": "pirata", "prompt": "Theirs."}],
        )
    )
    db.session.expire_all()
    assert summary.present["providers"] == 1
    assert provider.models == ["gpt-4o", "o3"]
    assert provider.get_api_key() == "sk-from-legacy-123456"
    assert db.session.scalars(Persona.select_by_name("pirata")).one().prompt == "Mine."
    assert any("pirata" in s and "yours was kept" in s for s in summary.skipped)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"history": {"1": {"id": "x", "reply": "trunc', "not valid JSON (line 1, column"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (json.dumps({"users": [], "posts": {}}).encode(), "not the original Calango's file"),
        (json.dumps([1, 2, 3]).encode(), "not the original Calango's file"),
        (b"", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_unreadable_files_are_refused_and_nothing_is_written(app_ctx, raw, expected):
    before = counts()
    with pytest.raises(ImportFileError) as excinfo:
        import_legacy(raw)
    assert expected in excinfo.value.message
    assert counts() == before


def test_a_failure_while_saving_writes_nothing(app_ctx, sample_bytes, monkeypatch):
    from calango.services.imports import legacy

    def broken(data, summary):
        db.session.add(ChatSession(title="half"))
        db.session.flush()
        db.session.add(ChatSession(id=db.session.scalars(select(ChatSession.id)).first()))
        db.session.flush()  # duplicate primary key: IntegrityError

    monkeypatch.setattr(legacy, "_import_chats", broken)
    before = counts()
    with pytest.raises(ImportFileError, match="could not be saved"):
        import_legacy(sample_bytes)
    assert counts() == before


@pytest.mark.parametrize(
    ("name", "theme"),
    [("Tiê (Red)", "tie"), ("Ipê (Purple)", "ipe"), ("Calango (Default)", "calango"), (3, None)],
)
def test_theme_names_are_mapped(name, theme):
    assert theme_for(name) == theme


def test_a_file_too_big_to_be_a_calango_json(app_ctx, monkeypatch):
    from calango.services.imports import legacy_parse

    monkeypatch.setattr(legacy_parse, "MAX_BYTES", 100)
    with pytest.raises(ImportFileError, match="larger than 0 MB"):
        import_legacy(tinydb(history=[history("a"), history("b")]))
