"""The legacy import from the command line, the data page and the chat page's first-run offer."""

from __future__ import annotations

import io
from pathlib import Path

from calango.extensions import db
from tests.accounts_helpers import login_as, make_user
from tests.data.conftest import counts, history, tinydb
from tests.helpers import csrf_token_from

PAGE = "/settings/data/"


def _upload(client, raw: bytes, name: str = "calango.json"):
    token = csrf_token_from(client, PAGE)
    return client.post(
        "/settings/data/import-tinydb",
        data={"csrf_token": token, "file": (io.BytesIO(raw), name)},
        content_type="multipart/form-data",
    )


def test_cli_imports_the_file_in_calango_home_by_default(app, runner, sample_bytes):
    (Path(app.config["CALANGO_HOME"]) / "calango.json").write_bytes(sample_bytes)
    result = runner.invoke(args=["calango", "import-tinydb"])
    assert result.exit_code == 0, result.output
    assert (
        "Imported: 5 chats, 28 messages, 1 arena round, 3 providers, 1 persona, 1 setting."
        in result.output
    )
    assert "Python Expert" in result.output  # skipped, with its reason

    again = runner.invoke(args=["calango", "import-tinydb"])
    assert again.exit_code == 0
    assert "Nothing new to import" in again.output
    assert "Imported: nothing." in again.output


def test_cli_refuses_a_truncated_file_and_writes_nothing(app, runner, tmp_path, sample_bytes):
    broken = tmp_path / "broken.json"
    broken.write_bytes(sample_bytes[: len(sample_bytes) // 2])
    result = runner.invoke(args=["calango", "import-tinydb", str(broken)])
    assert result.exit_code == 1
    assert "not valid JSON" in result.output and "Nothing was imported" in result.output
    with app.app_context():
        assert counts() == {"chats": 0, "messages": 0, "providers": 0, "personas": 2}
        db.session.remove()


def test_cli_missing_file(app, runner, tmp_path):
    result = runner.invoke(args=["calango", "import-tinydb", str(tmp_path / "nope.json")])
    assert result.exit_code == 1 and "cannot read" in result.output


def test_upload_shows_the_summary_then_nothing_new(app, client, sample_bytes):
    page = client.get(PAGE).get_data(as_text=True)
    assert "Import the original Calango" in page

    response = _upload(client, sample_bytes)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Import finished" in text
    assert "5 chats, 28 messages, 1 arena round, 3 providers, 1 persona, 1 setting" in text
    assert "one with this name exists with another prompt" in text
    assert "Quem ganha: gato ou calango?" in client.get("/rinha/").get_data(as_text=True)

    again = _upload(client, sample_bytes).get_data(as_text=True)
    assert "Nothing new to import" in again


def test_upload_of_a_bad_file_says_why_and_writes_nothing(app, client):
    for raw, message in (
        (b'{"sessions": {"1": {', "not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"),
        (b'{"name": "my-package", "version": "1.0.0"}', "not the original Calango"),
    ):
        response = _upload(client, raw, "thing.json")
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        assert message in text and "Nothing was imported" in text
    with app.app_context():
        assert counts()["chats"] == 0
        db.session.remove()


def test_upload_without_a_file(client):
    token = csrf_token_from(client, PAGE)
    response = client.post("/settings/data/import-tinydb", data={"csrf_token": token})
    assert response.status_code == 400
    assert "Choose the calango.json file to import." in response.get_data(as_text=True)


def test_upload_needs_the_csrf_token(app, client, sample_bytes):
    response = client.post(
        "/settings/data/import-tinydb",
        data={"file": (io.BytesIO(sample_bytes), "calango.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    with app.app_context():
        assert counts()["chats"] == 0
        db.session.remove()


def test_chat_page_offers_the_import_on_first_run(app, client, sample_bytes):
    assert "legacy-offer" not in client.get("/").get_data(as_text=True)
    (Path(app.config["CALANGO_HOME"]) / "calango.json").write_bytes(sample_bytes)
    page = client.get("/").get_data(as_text=True)
    assert "Bring your history from the original Calango" in page

    token = csrf_token_from(client, "/")
    response = client.post("/settings/data/import-tinydb/home", data={"csrf_token": token})
    assert response.status_code == 200
    assert "5 chats, 28 messages" in response.get_data(as_text=True)
    # Chats exist now: no more offer.
    assert "legacy-offer" not in client.get("/").get_data(as_text=True)


def test_no_offer_when_chats_exist(app, client):
    (Path(app.config["CALANGO_HOME"]) / "calango.json").write_bytes(tinydb(history=[history("a")]))
    with app.app_context():
        from calango.models import ChatSession

        db.session.add(ChatSession(title="Mine"))
        db.session.commit()
        db.session.remove()
    assert "legacy-offer" not in client.get("/").get_data(as_text=True)


def test_server_mode_has_no_offer_and_no_home_import(app_config, backend, sample_bytes):
    from calango import create_app

    app_config.MODE = "SERVER"
    application = create_app(app_config)
    (Path(application.config["CALANGO_HOME"]) / "calango.json").write_bytes(sample_bytes)
    client = application.test_client()
    login_as(client, make_user(application, "someone@example.com"))
    assert "legacy-offer" not in client.get("/").get_data(as_text=True)
    token = csrf_token_from(client, PAGE)
    response = client.post("/settings/data/import-tinydb/home", data={"csrf_token": token})
    assert response.status_code == 404


def test_summary_in_portuguese(app, client, sample_bytes):
    token = csrf_token_from(client, PAGE)
    response = client.post(
        "/settings/data/import-tinydb",
        data={"csrf_token": token, "file": (io.BytesIO(sample_bytes), "calango.json")},
        content_type="multipart/form-data",
        headers={"Accept-Language": "pt-BR"},
    )
    text = response.get_data(as_text=True)
    assert "Importação concluída" in text
    assert (
        "5 chats, 28 mensagens, 1 rodada da Rinha, 3 provedores, 1 persona, 1 configuração" in text
    )
