"""ChatGPT's export: current branches, roles, models, times; zips; bad files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from calango.extensions import db
from calango.models import ChatMessage, ChatSession
from calango.services.imports import ImportFileError
from calango.services.imports.chatgpt import import_chatgpt
from tests.data.conftest import counts
from tests.fakes.chatgpt_export import T0, linear, node


def _branched() -> dict:
    """A question edited once: the second version (and its answer) is the current branch;
    the answer used a tool (a call to python and its output), and there is an image."""
    mapping = {
        "root": node("root", None, None, children=["u1", "u1b"]),
        "u1": node("u1", "root", "user", "first version", T0 + 1, children=["a1"]),
        "a1": node("a1", "u1", "assistant", "answer to the first", T0 + 2),
        "u1b": node("u1b", "root", "user", "edited version", T0 + 10, children=["call"]),
        "call": node(
            "call", "u1b", "assistant", "print(1)", T0 + 11, recipient="python", children=["out"]
        ),
        "out": node("out", "call", "tool", "1", T0 + 12, children=["a2"]),
        "a2": node(
            "a2",
            "out",
            "assistant",
            "",
            T0 + 13,
            content={"content_type": "multimodal_text", "parts": ["Here:", {"asset": "x"}]},
            metadata={"model_slug": "o3"},
            children=["th"],
        ),
        "th": node(
            "th",
            "a2",
            "assistant",
            None,
            T0 + 14,
            content={"content_type": "thoughts", "thoughts": []},
        ),
    }
    return {
        "title": "Edited",
        "create_time": T0,
        "update_time": T0 + 100,
        "mapping": mapping,
        "current_node": "th",
        "conversation_id": "conv-branched",
    }


def _file(tmp_path: Path, items, name: str = "conversations.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def _messages(title: str) -> list[ChatMessage]:
    chat = db.session.scalars(select(ChatSession).where(ChatSession.title == title)).one()
    return list(db.session.scalars(ChatMessage.select_for_session(chat.id)))


def test_current_branch_roles_models_and_times(app_ctx, tmp_path):
    path = _file(tmp_path, [linear("c1", "Plain", ["hi", "hello", "bye", "ciao"]), _branched()])
    summary = import_chatgpt(path)
    assert summary.imported["chats"] == 2 and summary.imported["messages"] == 6

    plain = _messages("Plain")
    assert [(m.role, m.content) for m in plain] == [
        ("user", "hi"),
        ("assistant", "hello"),
        ("user", "bye"),
        ("assistant", "ciao"),
    ]
    assert plain[1].model == "gpt-4o" and plain[1].provider == "ChatGPT"
    assert plain[0].model is None
    assert plain[3].timestamp.timestamp() == T0 + 180

    edited = _messages("Edited")
    assert [(m.role, m.content) for m in edited] == [
        ("user", "edited version"),
        ("assistant", "Here:\n\n[attachment not imported]"),
    ]
    assert edited[1].model == "o3"
    chat = db.session.scalars(select(ChatSession).where(ChatSession.title == "Edited")).one()
    assert chat.created_at.timestamp() == T0 and chat.updated_at.timestamp() == T0 + 100


def test_importing_twice_adds_nothing(app_ctx, tmp_path):
    path = _file(tmp_path, [linear("c1", "Plain", ["hi", "hello"])])
    import_chatgpt(path)
    before = counts()
    again = import_chatgpt(path)
    assert again.nothing_new and again.present["chats"] == 1
    assert counts() == before


def test_the_zip_export(app_ctx, tmp_path):
    archive = tmp_path / "chatgpt-export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("chat.html", "<html></html>")
        zf.writestr("conversations.json", json.dumps([linear("z1", "From zip", ["q", "a"])]))
    assert import_chatgpt(archive).imported["chats"] == 1


def test_messy_conversations_are_skipped_or_repaired(app_ctx, tmp_path):
    no_pointer = linear("c2", "No pointer", ["q", "a"])
    no_pointer["current_node"] = "missing"
    cycle = linear("c3", "Cycle", ["q", "a"])
    cycle["mapping"]["root"]["parent"] = "c3-n1"  # a loop back to the end
    untitled = linear("c4", None, ["Untitled question here", "a"])
    path = _file(
        tmp_path,
        [
            "not a conversation",
            {"title": "no mapping"},
            {"mapping": {}, "title": "no id"},
            no_pointer,
            cycle,
            untitled,
        ],
    )
    summary = import_chatgpt(path)
    assert summary.imported["chats"] == 3
    assert "conversation #1: not a ChatGPT conversation." in summary.skipped
    assert "conversation #3: it has no id." in summary.skipped
    assert any("current branch is not marked" in w for w in summary.warnings)
    assert [m.content for m in _messages("No pointer")] == ["q", "a"]
    assert [m.content for m in _messages("Cycle")] == ["q", "a"]
    assert [m.content for m in _messages("Untitled question here")] == [
        "Untitled question here",
        "a",
    ]


@pytest.mark.parametrize(
    ("content", "expected", "good_first"),
    [
        (b"", "The file is empty.", False),
        (b'[{"title": "x", "mapping": {"a": ', "truncated", True),
        (b'{"format": "calango-export"}', "should be a list of conversations", False),
        (
            b'[{"name": "left-pad"}, {"name": "is-odd"}]',
            "none of its items is a conversation",
            False,
        ),
        (b'["\xff\xfe"]', "not UTF-8", True),
        (b"[" * 300_000 + b"]" * 300_000, "nested more than 64 levels deep", True),
    ],
)
def test_bad_files_are_refused_and_nothing_is_written(
    app_ctx, tmp_path, content, expected, good_first
):
    path = tmp_path / "conversations.json"
    if good_first:  # a good conversation first: the failure later must undo it
        good = json.dumps(linear("ok", "Would be imported", ["q", "a"])).encode()
        content = b"[" + good + b"," + content[1:]
    path.write_bytes(content)
    with pytest.raises(ImportFileError) as excinfo:
        import_chatgpt(path)
    assert expected in excinfo.value.message
    assert counts()["chats"] == 0


def test_zip_without_conversations(app_ctx, tmp_path):
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("photos/cat.jpg", b"\xff\xd8")
    with pytest.raises(ImportFileError, match=r"no conversations\.json"):
        import_chatgpt(archive)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    with pytest.raises(ImportFileError, match="damaged"):
        import_chatgpt(broken)


def test_stream_reads_in_pieces(app_ctx, tmp_path):
    path = _file(tmp_path, [linear(f"c{i}", f"T{i}", ["q" * 5000, "a"]) for i in range(40)])
    seen: list[int] = []
    import_chatgpt(path, seen.append)
    assert sum(seen) == path.stat().st_size and len(seen) > 1


def test_a_conversation_without_text_is_skipped_with_its_reason(app_ctx, tmp_path):
    only_system = linear("c9", "Only a system prompt", [])
    path = _file(tmp_path, [only_system, linear("c10", "Real", ["q", "a"])])
    summary = import_chatgpt(path)
    assert summary.imported["chats"] == 1
    assert "Only a system prompt: no text message to import." in summary.skipped
