"""Imports and restores fill A Cuca's rollup in the same transaction as the rows they write."""

from __future__ import annotations

import io
import json
from pathlib import Path

from flask import Flask
from sqlalchemy import delete, func, select

from calango.extensions import db
from calango.models import CallRollup, CallSpeedRollup, ChatMessage, ChatSession
from calango.services import call_rollup
from calango.services.dashboard import DashboardFilters, overview
from calango.services.exports.export import export_all
from calango.services.imports.calango_export import import_calango_export
from calango.services.imports.chatgpt import import_chatgpt
from calango.services.imports.legacy import import_legacy
from tests.fakes.chatgpt_export import linear


def _answers() -> int:
    query = select(func.count()).where(
        ChatMessage.role == "assistant", ChatMessage.status != "streaming"
    )
    return db.session.scalar(query) or 0


def test_legacy_and_calango_imports_fill_the_rollup(app: Flask, sample_bytes: bytes) -> None:
    with app.test_request_context():
        import_legacy(sample_bytes)
        assert _answers() > 0
        assert call_rollup.check() == []
        assert overview(DashboardFilters(period="all")).totals.calls == _answers()
        # A second import of the same file adds nothing, to the rows or to the sums.
        import_legacy(sample_bytes)
        assert call_rollup.check() == []

        exported = "".join(export_all()).encode()
        for model in (ChatMessage, ChatSession, CallRollup, CallSpeedRollup):
            db.session.execute(delete(model))
        db.session.commit()
        import_calango_export(io.BytesIO(exported))
        assert call_rollup.check() == []
        assert overview(DashboardFilters(period="all")).totals.calls == _answers()


def test_a_chatgpt_import_fills_the_rollup(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([linear("c1", "Plain", ["hi", "hello", "bye", "ciao"])]))
    with app.test_request_context():
        import_chatgpt(path)
        assert _answers() == 2
        assert call_rollup.check() == []
        assert overview(DashboardFilters(period="all")).totals.calls == 2
