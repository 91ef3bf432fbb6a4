"""Persona pages: list, create, edit, delete (with a confirmation that needs no JavaScript),
the avatar image, and hatching a persona from a description."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from calango.access import is_admin
from calango.accounts import current_user_id, is_server
from calango.forms import confirm_then_delete
from calango.models import Persona
from calango.ownership import editable_persona_or_404
from calango.personas import bp
from calango.personas.forms import HatchForm, PersonaForm
from calango.services import avatars, composer, persona_hatch
from calango.services import personas as service
from calango.services.names import NameTaken


@bp.get("/")
def index() -> str:
    user_id, admin = current_user_id(), is_admin()
    personas = service.visible_personas(user_id)
    editable = {p.id for p in personas if service.may_edit(p, user_id, admin)}
    return render_template("personas/index.html", personas=personas, editable=editable)


def _can_share() -> bool:
    """Whether the form offers sharing: admins of a SERVER instance (DESKTOP has one user)."""
    return is_server() and is_admin()


def _render_form(form: PersonaForm, persona: Persona | None, **extra: object) -> str:
    return render_template(
        "personas/form.html", form=form, persona=persona, can_share=_can_share(), **extra
    )


def _offer_providers(form: PersonaForm) -> None:
    options = composer.composer_options()
    form.default_provider.choices = [SelectChoice("", _("None (the last one used)"))] + [
        SelectChoice(p.name, p.name) for p in options.providers
    ]


def _uploaded_avatar(form: PersonaForm) -> tuple[bool, bytes | None]:
    """(ok, the new avatar PNG or None); a refused upload becomes the field's error."""
    upload = form.avatar_file.data
    if not upload or not getattr(upload, "filename", ""):
        return True, None
    data = upload.stream.read(avatars.MAX_UPLOAD_BYTES + 1)
    try:
        return True, avatars.make_avatar(data)
    except avatars.AvatarRefused as exc:
        form.avatar_file.errors = [str(exc)]
        return False, None


def _save(form: PersonaForm, persona: Persona | None) -> Persona | None:
    """Validate and save the form; the saved persona, or None (errors are on the form)."""
    if not form.validate_on_submit():
        return None
    ok, image = _uploaded_avatar(form)
    if not ok:
        return None
    details = form.details(image)
    shared = bool(form.is_shared.data) if _can_share() else None
    try:
        if persona is None:
            return service.create_persona(
                form.name.data or "",
                form.prompt.data or "",
                details,
                owner_id=current_user_id(),
                shared=bool(shared),
            )
        return service.update_persona(
            persona, form.name.data or "", form.prompt.data or "", details, shared=shared
        )
    except NameTaken as exc:
        form.report_name_taken(exc)
        return None


@bp.route("/new", methods=["GET", "POST"])
def create() -> str | Response:
    form = PersonaForm(owner_id=current_user_id())
    _offer_providers(form)
    persona = _save(form, None)
    if persona is not None:
        flash(_("Created persona “%(name)s”.", name=persona.name), "success")
        return redirect(url_for("personas.index"))
    return _render_form(form, None)


@bp.route("/<int:persona_id>/edit", methods=["GET", "POST"])
def edit(persona_id: int) -> str | Response:
    persona = editable_persona_or_404(persona_id)
    form = PersonaForm(obj=persona, record_id=persona.id, owner_id=persona.owner_id)
    if not form.is_submitted():
        form.fill_from(persona)
    _offer_providers(form)
    if _save(form, persona) is not None:
        flash(_("Saved persona “%(name)s”.", name=persona.name), "success")
        return redirect(url_for("personas.index"))
    return _render_form(form, persona)


@bp.get("/<int:persona_id>/avatar.png")
def avatar(persona_id: int) -> Response:
    """The persona's avatar: a PNG made by the app, never the uploaded file."""
    png = service.avatar_png(persona_id)
    if not png:
        abort(404)
    response = Response(png, mimetype=avatars.MIME_TYPE)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = 'inline; filename="avatar.png"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # The URL carries the persona's version (?v=), so a changed avatar has a new address.
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.route("/hatch", methods=["GET", "POST"])
def hatch() -> str:
    """ "Describe who you want" → a proposed persona in the persona form, to edit and save."""
    form = HatchForm()
    options = composer.composer_options()
    form.model.choices = {
        p.name: [SelectChoice(composer.model_value(p.id, m), m) for m in p.models]
        for p in options.providers
    }
    error = None
    if form.validate_on_submit():
        try:
            proposal = persona_hatch.hatch(form.description.data or "", form.model.data or "")
        except persona_hatch.HatchFailed as exc:
            error = exc.message
        else:
            persona_form = PersonaForm(
                formdata=None,
                owner_id=current_user_id(),
                name=proposal.name,
                description=proposal.description,
                prompt=proposal.prompt,
                traits=", ".join(proposal.traits),
                starters="\n".join(proposal.starters),
            )
            _offer_providers(persona_form)
            flash(_("Here is a proposal. Change what you like, then save it."), "info")
            return _render_form(persona_form, None, hatched=True)
    return render_template(
        "personas/hatch.html", form=form, error=error, has_models=bool(options.providers)
    )


@bp.route("/<int:persona_id>/delete", methods=["GET", "POST"])
def delete(persona_id: int) -> str | Response:
    persona = editable_persona_or_404(persona_id)
    return confirm_then_delete(
        "personas/delete.html",
        lambda: service.delete_persona(persona),
        _("Deleted persona “%(name)s”.", name=persona.name),
        url_for("personas.index"),
        persona=persona,
        chat_count=service.chats_using(persona),
    )
