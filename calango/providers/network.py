"""The "allow local providers" switch (SERVER mode): its own form and route, so that it can be
restricted (to admins) on its own."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, SubmitField

from calango.access import admin_required
from calango.providers import bp
from calango.services import network_policy


class LocalProvidersForm(FlaskForm):
    """Whether providers may live on loopback, private and link-local addresses."""

    allow = BooleanField(_l("Allow providers on local and private addresses"))
    submit = SubmitField(_l("Save"))


def local_providers_form() -> LocalProvidersForm | None:
    """The form to show on the providers page, pre-filled; ``None`` where the guard is off
    (DESKTOP)."""
    if not network_policy.guard_applies():
        return None
    form = LocalProvidersForm(formdata=None)
    form.allow.data = network_policy.local_providers_allowed()
    return form


@bp.post("/local-access")
@admin_required
def local_access() -> Response:
    """Save the switch and go back to the providers page."""
    if not network_policy.guard_applies():
        abort(404)
    form = LocalProvidersForm()
    if form.validate_on_submit():
        network_policy.set_local_providers_allowed(bool(form.allow.data))
        if form.allow.data:
            flash(_("Providers may now use local and private addresses."), "success")
        else:
            flash(_("Providers on local and private addresses are refused again."), "success")
    return redirect(url_for("providers.index"))
