"""Persona pages: list, create, edit and delete (with a confirmation that needs no JavaScript)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from calango.extensions import db
from calango.forms import confirm_then_delete
from calango.models import Persona
from calango.personas import bp
from calango.personas.forms import PersonaForm
from calango.services import personas as service
from calango.services.names import NameTaken


@bp.get("/")
def index() -> str:
    return render_template("personas/index.html", personas=service.list_personas())


@bp.route("/new", methods=["GET", "POST"])
def create() -> str | Response:
    form = PersonaForm()
    if form.validate_on_submit():
        try:
            persona = service.create_persona(form.name.data or "", form.prompt.data or "")
        except NameTaken as exc:
            form.report_name_taken(exc)
        else:
            flash(_("Created persona “%(name)s”.", name=persona.name), "success")
            return redirect(url_for("personas.index"))
    return render_template("personas/form.html", form=form, persona=None)


@bp.route("/<int:persona_id>/edit", methods=["GET", "POST"])
def edit(persona_id: int) -> str | Response:
    persona = db.get_or_404(Persona, persona_id)
    form = PersonaForm(obj=persona, record_id=persona.id)
    if form.validate_on_submit():
        try:
            service.update_persona(persona, form.name.data or "", form.prompt.data or "")
        except NameTaken as exc:
            form.report_name_taken(exc)
        else:
            flash(_("Saved persona “%(name)s”.", name=persona.name), "success")
            return redirect(url_for("personas.index"))
    return render_template("personas/form.html", form=form, persona=persona)


@bp.route("/<int:persona_id>/delete", methods=["GET", "POST"])
def delete(persona_id: int) -> str | Response:
    persona = db.get_or_404(Persona, persona_id)
    return confirm_then_delete(
        "personas/delete.html",
        lambda: service.delete_persona(persona),
        _("Deleted persona “%(name)s”.", name=persona.name),
        url_for("personas.index"),
        persona=persona,
        chat_count=service.chats_using(persona),
    )
