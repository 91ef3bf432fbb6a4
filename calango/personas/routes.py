"""Persona pages."""

from __future__ import annotations

from flask import render_template

from calango.personas import bp


@bp.get("/")
def index() -> str:
    return render_template("personas/index.html")
