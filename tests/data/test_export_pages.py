"""Downloads from the chat page and Settings → Your data; the CLI export and import."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

from sqlalchemy import delete, select

from calango.extensions import db
from calango.models import ChatMessage, ChatSession
from calango.services.imports.legacy import import_legacy
from tests.data.conftest import counts
from tests.helpers import csrf_token_from

PAGE = "/settings/data/"


def _seed(app, sample_bytes) -> uuid.UUID:
    with app.app_context():
        import_legacy(sample_bytes)
        chat_id = db.session.scalars(
            select(ChatSession.id).where(ChatSession.title == "What is 2+2?")
        ).one()
        db.session.remove()
    return chat_id


def test_chat_page_downloads_markdown_and_json(app, client, sample_bytes):
    chat_id = _seed(app, sample_bytes)
    page = client.get(f"/chats/{chat_id}").get_data(as_text=True)
    assert f"/chats/{chat_id}/export.md" in page and f"/chats/{chat_id}/export.json" in page

    markdown = client.get(f"/chats/{chat_id}/export.md")
    assert markdown.status_code == 200 and markdown.mimetype == "text/markdown"
    assert "attachment;" in markdown.headers["Content-Disposition"]
    assert "what-is-2-2" in markdown.headers["Content-Disposition"]
    assert markdown.get_data(as_text=True).startswith("# What is 2+2?\n")

    document = client.get(f"/chats/{chat_id}/export.json").get_json()
    assert document["format"] == "calango-export"
    assert [m["role"] for m in document["chats"][0]["messages"]] == ["user", "assistant"]


def test_downloads_of_a_missing_chat_are_404(client):
    assert client.get(f"/chats/{uuid.uuid4()}/export.md").status_code == 404
    assert client.get(f"/chats/{uuid.uuid4()}/export.json").status_code == 404


def test_export_everything_is_streamed_and_imports_back(app, client, sample_bytes):
    _seed(app, sample_bytes)
    response = client.get("/settings/data/export.json")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Cache-Control"] == "no-store"
    raw = response.get_data()
    assert len(json.loads(raw)["chats"]) == 7  # 5 chats, 2 arena conversations

    with app.app_context():
        db.session.execute(delete(ChatMessage))
        db.session.execute(delete(ChatSession))
        db.session.commit()
        db.session.remove()
    token = csrf_token_from(client, PAGE)
    result = client.post(
        "/settings/data/import-all",
        data={"csrf_token": token, "file": (io.BytesIO(raw), "export.json")},
        content_type="multipart/form-data",
    )
    assert result.status_code == 200
    text = result.get_data(as_text=True)
    assert "Imported: 5 chats, 28 messages." in text  # the round itself was kept

    again = client.post(
        "/settings/data/import-all",
        data={"csrf_token": token, "file": (io.BytesIO(raw), "export.json")},
        content_type="multipart/form-data",
    )
    assert "Nothing new to import" in again.get_data(as_text=True)


def test_import_all_refuses_another_file_and_writes_nothing(app, client, sample_bytes):
    token = csrf_token_from(client, PAGE)
    response = client.post(
        "/settings/data/import-all",
        data={"csrf_token": token, "file": (io.BytesIO(sample_bytes), "calango.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "calango.json: This is not a Calango export" in text
    assert "Nothing was imported." in text
    with app.app_context():
        assert counts()["chats"] == 0
        db.session.remove()


def test_an_upload_over_the_import_limit_gets_our_page(app_config, backend):
    from calango import create_app

    app_config.MAX_IMPORT_BYTES = 1000
    application = create_app(app_config)
    client = application.test_client()
    token = csrf_token_from(client, PAGE)
    response = client.post(
        "/settings/data/import-all",
        data={"csrf_token": token, "file": (io.BytesIO(b"x" * 5000), "big.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "larger than this server accepts" in response.get_data(as_text=True)


def test_cli_export_all_then_import_all(app, runner, tmp_path, sample_bytes):
    _seed(app, sample_bytes)
    target = tmp_path / "everything.json"
    result = runner.invoke(args=["calango", "export-all", str(target)])
    assert result.exit_code == 0, result.output
    assert len(json.loads(target.read_text())["chats"]) == 7  # with 2 arena conversations
    assert not list(tmp_path.glob(".*partial"))

    again = runner.invoke(args=["calango", "import-all", str(target)])
    assert again.exit_code == 0
    assert "Nothing new to import" in again.output

    broken = tmp_path / "broken.json"
    broken.write_bytes(target.read_bytes()[:-200])
    failed = runner.invoke(args=["calango", "import-all", str(broken)])
    assert failed.exit_code == 1
    assert "truncated" in failed.output and "Nothing was imported" in failed.output


def test_cli_export_all_to_stdout(app, runner, sample_bytes):
    _seed(app, sample_bytes)
    result = runner.invoke(args=["calango", "export-all"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["format"] == "calango-export"


def test_cli_export_to_an_unwritable_place(app, runner, tmp_path):
    result = runner.invoke(args=["calango", "export-all", str(tmp_path / "no" / "dir.json")])
    assert result.exit_code == 1 and "cannot write" in result.output
    assert Path(tmp_path / "no").exists() is False
