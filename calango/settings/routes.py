"""Settings pages: appearance and language."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from werkzeug.wrappers import Response

from calango.services.preferences import save_appearance, saved_language, saved_theme
from calango.settings import bp
from calango.settings.forms import AppearanceForm

# Shown formatted in the chosen language, next to the language choice. They are passed as
# variables: Jinja folds a filter applied to a literal at compile time, in whatever locale the
# first request had.
FORMAT_EXAMPLE = {
    "when": datetime(2026, 3, 14, 15, 9, tzinfo=UTC),
    "number": Decimal("1234567.5"),
    "money": Decimal("1234.5"),
}


@bp.route("/", methods=["GET", "POST"])
def index() -> str | Response:
    form = AppearanceForm()
    if not form.is_submitted():
        form.theme.data = saved_theme()
        form.language.data = saved_language() or ""
    if form.validate_on_submit():
        save_appearance(form.theme.data, form.language.data or None)
        # The locale was chosen (and cached) for this request before the save; drop it so the
        # "Saved" message is already in the language just picked.
        g.pop("calango_language", None)
        refresh()
        flash(_("Saved"), "success")
        return redirect(url_for("settings.index"))
    return render_template("settings/index.html", form=form, example=FORMAT_EXAMPLE)
