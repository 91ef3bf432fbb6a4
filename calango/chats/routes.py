"""Chat pages."""

from __future__ import annotations

from flask import render_template

from calango.chats import bp


@bp.get("/")
def index() -> str:
    return render_template("chats/index.html")
