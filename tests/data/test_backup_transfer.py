"""Backups, restores, and the desktop-to-server transfer."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from calango import create_app
from calango.extensions import db
from calango.models import ChatMessage, ChatSession
from calango.services.backups.backup import RestoreError, backup_sqlite, restore_sqlite
from calango.services.backups.transfer import TransferError, transfer
from config import TestConfig
from tests.conftest import reset_database
from tests.data.conftest import counts, full_snapshot


def _snapshot_of(application) -> dict[str, Any]:
    with application.app_context():
        snapshot = full_snapshot()
        db.session.remove()
    return snapshot


def test_backup_of_the_sqlite_database_while_it_is_open(desktop_app, tmp_path):
    target = tmp_path / "backups" / "copy.db"
    with desktop_app.app_context():
        # A reader holds the database open, as the running app would.
        db.session.execute(select(ChatSession)).all()
        size = backup_sqlite(target)
        db.session.remove()
    assert size == target.stat().st_size and oct(target.stat().st_mode)[-3:] == "600"
    with sqlite3.connect(target) as copy:
        # 26 of the chats, 2 of the arena round's two contenders (question and answer each).
        assert copy.execute("SELECT count(*) FROM chat_messages").fetchone() == (28,)
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_cli_backup_default_place(desktop_app):
    result = desktop_app.test_cli_runner().invoke(args=["calango", "backup"])
    assert result.exit_code == 0, result.output
    assert "Backup written to" in result.output and "/backups/calango-" in result.output


def test_restore_a_sqlite_backup_into_an_empty_database(app, desktop_app, tmp_path):
    backup = tmp_path / "b.db"
    with desktop_app.app_context():
        backup_sqlite(backup)
        db.session.remove()
    # The test app's encryption key differs: compare ciphertexts, not decrypted keys.
    app.config["ENCRYPTION_KEY"] = desktop_app.config["ENCRYPTION_KEY"]
    result = app.test_cli_runner().invoke(args=["calango", "restore", str(backup)])
    assert result.exit_code == 0, result.output
    # Rows of chat_sessions: 5 chats and the arena round's 2 contenders' conversations.
    assert "Restored 7 chats, 28 messages, 3 providers, 3 personas." in result.output
    assert _snapshot_of(app) == _snapshot_of(desktop_app)

    again = app.test_cli_runner().invoke(args=["calango", "restore", str(backup)])
    assert again.exit_code == 1 and "already holds chats" in again.output


def test_restore_a_json_backup(app, desktop_app, tmp_path):
    target = tmp_path / "b.json"
    result = desktop_app.test_cli_runner().invoke(args=["calango", "export-all", str(target)])
    assert result.exit_code == 0
    restored = app.test_cli_runner().invoke(args=["calango", "restore", str(target)])
    assert restored.exit_code == 0, restored.output
    assert (
        "Imported: 5 chats, 28 messages, 1 arena round, 3 providers, 3 personas, 1 setting."
        in restored.output
    )


def test_restore_refuses_a_file_of_another_kind(app, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01garbage")
    result = app.test_cli_runner().invoke(args=["calango", "restore", str(junk)])
    assert result.exit_code == 1 and "Nothing was restored" in result.output
    with app.app_context():
        assert counts()["chats"] == 0
        db.session.remove()


def test_restore_refuses_a_backup_of_another_schema_version(app, desktop_app, tmp_path):
    backup = tmp_path / "old.db"
    with desktop_app.app_context():
        backup_sqlite(backup)
        db.session.remove()
    with sqlite3.connect(backup) as old:
        old.execute("UPDATE alembic_version SET version_num = 'abc123'")
    with app.app_context(), pytest.raises(RestoreError, match="different schema versions"):
        restore_sqlite(backup)


# --- transfer to PostgreSQL -----------------------------------------------------------------


@pytest.fixture
def pg_target(prepared_databases, tmp_path) -> Iterator[tuple[str, Any]]:
    """A migrated, empty PostgreSQL database and an app on it with its own encryption key."""
    prepared = prepared_databases["postgresql"]
    config = TestConfig(prepared.url, home=str(tmp_path))
    config.ENCRYPTION_KEY = Fernet.generate_key().decode()
    application = create_app(config)
    yield prepared.url, application
    reset_database(application, prepared.snapshot)


def test_transfer_copies_everything_with_ids_and_reencrypted_keys(desktop_app, pg_target):
    url, server = pg_target
    result = desktop_app.test_cli_runner().invoke(
        args=["calango", "transfer", "--to", url, "--target-key", server.config["ENCRYPTION_KEY"]]
    )
    assert result.exit_code == 0, result.output
    assert "Transferred 7 chats, 28 messages, 3 providers" in result.output
    assert "total cost 0.00024220 USD verified" in result.output
    assert _snapshot_of(server) == _snapshot_of(desktop_app)

    # New rows on the server continue after the copied ids.
    with server.app_context():
        chat = db.session.scalars(select(ChatSession)).first()
        chat.messages.append(ChatMessage(role="user", content="after the move"))
        db.session.commit()
        assert chat.messages[-1].id == 29  # after the 28 copied
        db.session.remove()


def test_transfer_refuses_a_non_empty_target(desktop_app, pg_target):
    url, server = pg_target
    key = server.config["ENCRYPTION_KEY"]
    with desktop_app.app_context():
        transfer(url, key)
        before = _snapshot_of(server)
        with pytest.raises(TransferError, match="already holds chats, providers or personas"):
            transfer(url, key)
        db.session.remove()
    assert _snapshot_of(server) == before


def test_transfer_without_a_target_key_keeps_the_ciphertexts(desktop_app, pg_target):
    url, server = pg_target
    with desktop_app.app_context():
        transfer(url)
        db.session.remove()
    server.config["ENCRYPTION_KEY"] = desktop_app.config["ENCRYPTION_KEY"]
    assert _snapshot_of(server) == _snapshot_of(desktop_app)


@pytest.mark.parametrize(
    ("url", "key", "message"),
    [
        ("sqlite:////tmp/x.db", None, "must be a PostgreSQL URL"),
        ("not a url", None, "must be a PostgreSQL URL"),
        ("postgresql://nobody@127.0.0.1:1/none", None, "could not be reached"),
        ("postgresql://postgres@127.0.0.1/x", "short", "--target-key is not a valid key"),
    ],
)
def test_transfer_bad_arguments(desktop_app, url, key, message):
    result = desktop_app.test_cli_runner().invoke(
        args=["calango", "transfer", "--to", url, *(["--target-key", key] if key else [])]
    )
    assert result.exit_code == 1
    assert message in result.output


def test_transfer_refuses_a_target_with_personas_of_its_own(desktop_app, pg_target):
    url, server = pg_target
    with server.app_context():
        from calango.models import Persona

        db.session.add(Persona(name="Server persona", prompt="Mine."))
        db.session.commit()
        db.session.remove()
    with desktop_app.app_context():
        with pytest.raises(TransferError, match="personas of its own"):
            transfer(url, server.config["ENCRYPTION_KEY"])
        db.session.remove()
    with server.app_context():
        assert counts()["personas"] == 3 and counts()["chats"] == 0
        db.session.remove()
