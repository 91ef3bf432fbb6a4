"""The "who I am" profile under ``/settings/profile``."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length

from calango.forms import strip_whitespace
from calango.services.profile import LIMITS, Profile, load_profile, save_profile
from calango.settings import bp


def _bounded(label: str, limit: int, area: bool = False) -> StringField | TextAreaField:
    field = TextAreaField if area else StringField
    return field(
        label,
        filters=[strip_whitespace],
        validators=[Length(max=limit, message=_l("Keep it to %(max)d characters or fewer."))],
        render_kw={"maxlength": limit, **({"rows": 3} if area else {})},
    )


class ProfileForm(FlaskForm):
    """What every persona may know about the user."""

    enabled = BooleanField(_l("Send my profile to every persona"))
    name = _bounded(_l("What to call me"), LIMITS["name"])
    language = _bounded(_l("My language"), LIMITS["language"])
    work = _bounded(_l("What I do"), LIMITS["work"], area=True)
    style = _bounded(_l("How I like answers"), LIMITS["style"], area=True)
    submit = SubmitField(_l("Save profile"))


@bp.route("/profile", methods=["GET", "POST"])
def profile() -> str | Response:
    form = ProfileForm()
    if not form.is_submitted():
        stored = load_profile()
        for key in ("enabled", "name", "language", "work", "style"):
            getattr(form, key).data = getattr(stored, key)
    if form.validate_on_submit():
        save_profile(
            Profile(
                enabled=bool(form.enabled.data),
                name=form.name.data or "",
                language=form.language.data or "",
                work=form.work.data or "",
                style=form.style.data or "",
            )
        )
        flash(_("Saved your profile."), "success")
        return redirect(url_for("settings.profile"))
    return render_template("settings/profile.html", form=form)
