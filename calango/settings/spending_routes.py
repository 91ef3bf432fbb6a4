"""The user's default spending cap of a chat, under ``/settings/spending``
(calango.services.spend_cap)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField, SubmitField, ValidationError

from calango.extensions import db
from calango.services import spend_cap
from calango.services.preferences import DEFAULT_CAP_KEY, put_setting
from calango.settings import bp


class SpendingForm(FlaskForm):
    """The cap of every chat that sets none of its own (blank: no default cap)."""

    default_cap = StringField(
        _l("Default spending cap per chat (US$)"),
        render_kw={"inputmode": "decimal", "maxlength": 12, "size": 10, "autocomplete": "off"},
    )
    submit = SubmitField(_l("Save"))

    def validate_default_cap(self, field: StringField) -> None:
        try:
            self.cap = spend_cap.parse_cap(field.data)
        except spend_cap.InvalidCap as exc:
            raise ValidationError(str(exc)) from None


@bp.route("/spending", methods=["GET", "POST"])
def spending() -> str | Response:
    form = SpendingForm()
    if not form.is_submitted():
        current = spend_cap.default_cap()
        form.default_cap.data = "" if current is None else format_decimal(current, "0.00##")
    if form.validate_on_submit():
        cap = form.cap
        put_setting(DEFAULT_CAP_KEY, None if cap is None else str(cap))
        db.session.commit()
        flash(_("Saved"), "success")
        return redirect(url_for("settings.spending"))
    return render_template("settings/spending.html", form=form)
