"""Migrations build, tear down and match the models on both databases."""

from __future__ import annotations

from flask_migrate import check, downgrade, upgrade
from sqlalchemy import inspect, select

from calango.extensions import db
from calango.models import Persona

EXPECTED_TABLES = {"providers", "personas", "chat_sessions", "chat_messages", "settings"}


def test_upgrade_check_downgrade_upgrade(app_ctx):
    tables = set(inspect(db.engine).get_table_names())
    assert tables >= EXPECTED_TABLES
    check()  # exits 1 on drift between models and migrations
    db.session.remove()
    downgrade(revision="base")
    assert not EXPECTED_TABLES & set(inspect(db.engine).get_table_names())
    upgrade()
    assert set(inspect(db.engine).get_table_names()) >= EXPECTED_TABLES


def test_default_personas_are_seeded(app_ctx):
    names = db.session.scalars(select(Persona.name)).all()
    assert set(names) == {"Calango (Default)", "Python Expert"}


def test_indexes_exist(app_ctx):
    indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("chat_messages")}
    assert {"ix_chat_messages_session_id_timestamp_id", "ix_chat_messages_timestamp"} <= indexes


def test_old_schema_gets_an_upgrade_message(app, client):
    with app.app_context():
        downgrade(revision="base")
        db.session.remove()
    response = client.get("/chats/")
    assert response.status_code == 503
    assert "flask db upgrade" in response.get_data(as_text=True)
    with app.app_context():
        upgrade()
