"""Chat titles named by a model, under ``/settings/titles`` (services.auto_titles)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectField, SubmitField, ValidationError
from wtforms.fields.choices import SelectChoice

from calango.access import admin_required
from calango.models import Provider
from calango.services import composer
from calango.services.auto_titles import AutoTitle, load_auto_title, save_auto_title
from calango.settings import bp


class TitleForm(FlaskForm):
    """Whether new chats are named by a model, and which model."""

    enabled = BooleanField(_l("Name new chats with a model"))
    # Grouped by provider; each value a "<provider id>:<model>" pair (as in the composer).
    model = SelectField(_l("Model"), validate_choice=False)
    submit = SubmitField(_l("Save"))

    def offer(self, providers: list[Provider]) -> None:
        """Offer the models of ``providers`` (enabled, with models)."""
        self.model.choices = {
            p.name: [SelectChoice(composer.model_value(p.id, m), m) for m in p.models]
            for p in providers
        }
        self._offered = {composer.model_value(p.id, m) for p in providers for m in p.models}

    def validate_model(self, field: SelectField) -> None:
        value = field.data or ""
        if not value and not self.enabled.data:
            return
        if value not in getattr(self, "_offered", set()):
            raise ValidationError(_l("Choose one of the models shown."))


@bp.route("/titles", methods=["GET", "POST"])
@admin_required
def titles() -> str | Response:
    form = TitleForm()
    options = composer.composer_options()
    form.offer(options.providers)
    if not form.is_submitted():
        stored = load_auto_title()
        form.enabled.data = stored.enabled
        form.model.data = stored.model
    if form.validate_on_submit():
        save_auto_title(AutoTitle(enabled=bool(form.enabled.data), model=form.model.data or ""))
        flash(_("Saved"), "success")
        return redirect(url_for("settings.titles"))
    return render_template("settings/titles.html", form=form, has_models=bool(options.providers))
