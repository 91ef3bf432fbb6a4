"""Settings pages."""

from __future__ import annotations

from flask import render_template

from calango.settings import bp


@bp.get("/")
def index() -> str:
    return render_template("settings/index.html")
