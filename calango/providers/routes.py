"""Provider pages: list, add (from a preset), edit, enable/disable, test, fetch models, delete,
and one-click setup of what the first run found."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from calango.access import admin_required
from calango.encryption import KeyDecryptionError
from calango.extensions import db
from calango.forms import confirm_then_delete
from calango.llm import PRESETS, ProviderError
from calango.models import Provider
from calango.providers import bp
from calango.providers.forms import ProviderActionForm, ProviderForm, parse_model_lines
from calango.providers.network import local_providers_form
from calango.services import providers as service
from calango.services.first_run import (
    OfferUnavailable,
    first_run_offers,
    preset_name,
    setup_from_offer,
)
from calango.services.names import NameTaken
from calango.services.provider_errors import describe_provider_error


def _input_from(form: ProviderForm) -> service.ProviderInput:
    return service.ProviderInput(
        name=form.name.data or "",
        kind=form.kind.data or "openai",
        base_url=form.base_url.data or None,
        models=parse_model_lines(form.models.data),
        price_overrides=form.parsed_prices,
        api_key=form.api_key.data or None,
        remove_key=bool(form.remove_key.data),
        local_runtime=bool(form.local_runtime.data),
    )


def _render_form(form: ProviderForm, provider: Provider | None) -> str:
    key = service.key_info(form.kind.data, form.base_url.data, provider)
    return render_template(
        "providers/form.html",
        form=form,
        provider=provider,
        key=key,
        presets=PRESETS,
        action_form=ProviderActionForm(),
    )


@bp.get("")
@admin_required
def index() -> str:
    return render_template(
        "providers/index.html",
        rows=service.list_providers(),
        offers=first_run_offers(),
        presets=PRESETS,
        network_form=local_providers_form(),
    )


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new() -> str | Response:
    preset = PRESETS.get(request.args.get("preset", ""))
    initial = (
        {
            "name": preset_name(preset),
            "kind": preset["kind"],
            "base_url": preset["base_url"] or "",
            "local_runtime": preset["local"],
        }
        if preset
        else {}
    )
    form = ProviderForm(data=initial)
    form.remove_key.data = False  # nothing stored yet to remove
    if form.validate_on_submit():
        try:
            provider = service.create_provider(_input_from(form))
        except NameTaken as exc:
            form.report_name_taken(exc)
        else:
            flash(
                _(
                    "Added the provider “%(name)s”. Test the connection or fetch its models.",
                    name=provider.name,
                ),
                "success",
            )
            return redirect(url_for("providers.edit", provider_id=provider.id))
    return _render_form(form, None)


@bp.route("/<int:provider_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(provider_id: int) -> str | Response:
    provider = db.get_or_404(Provider, provider_id)
    form = ProviderForm(data=ProviderForm.initial(provider), record_id=provider.id)
    if form.validate_on_submit():
        try:
            service.update_provider(provider, _input_from(form))
        except NameTaken as exc:
            form.report_name_taken(exc)
        except service.ApiKeyNeeded:
            form.api_key.errors = [
                *form.api_key.errors,
                _(
                    "The address changed: enter the API key again (or tick “Remove the stored "
                    "key”), so the old key is never sent to the new address. Nothing was saved."
                ),
            ]
        else:
            flash(_("Saved the provider “%(name)s”.", name=provider.name), "success")
            return redirect(url_for("providers.index"))
    return _render_form(form, provider)


def _back(form: ProviderActionForm, provider: Provider) -> Response:
    if form.next.data == "edit":
        return redirect(url_for("providers.edit", provider_id=provider.id))
    return redirect(url_for("providers.index"))


def _action_form() -> ProviderActionForm:
    form = ProviderActionForm()
    if not form.validate_on_submit():
        abort(400)
    return form


@bp.post("/<int:provider_id>/toggle")
@admin_required
def toggle(provider_id: int) -> Response:
    provider = db.get_or_404(Provider, provider_id)
    form = _action_form()
    enabled = form.enabled.data == "1" if form.enabled.data else not provider.enabled
    service.set_enabled(provider, enabled)
    if enabled:
        flash(_("Enabled “%(name)s”: its models are offered in the chat.", name=provider.name))
    else:
        flash(_("Disabled “%(name)s”: its models are hidden from the chat.", name=provider.name))
    return _back(form, provider)


@bp.route("/<int:provider_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(provider_id: int) -> str | Response:
    provider = db.get_or_404(Provider, provider_id)
    return confirm_then_delete(
        "providers/delete.html",
        lambda: service.delete_provider(provider),
        _("Deleted the provider “%(name)s”.", name=provider.name),
        url_for("providers.index"),
        provider=provider,
    )


@bp.post("/<int:provider_id>/test")
@admin_required
def test(provider_id: int) -> Response:
    provider = db.get_or_404(Provider, provider_id)
    form = _action_form()
    try:
        models = service.test_connection(provider)
    except (ProviderError, KeyDecryptionError) as exc:
        flash(describe_provider_error(exc, provider.name), "error")
    else:
        flash(
            ngettext(
                "Connected to %(name)s: %(num)d model available.",
                "Connected to %(name)s: %(num)d models available.",
                len(models),
                name=provider.name,
            ),
            "success",
        )
    return _back(form, provider)


@bp.post("/<int:provider_id>/models")
@admin_required
def fetch_models(provider_id: int) -> Response:
    provider = db.get_or_404(Provider, provider_id)
    form = _action_form()
    try:
        result = service.fetch_models(provider, replace=form.mode.data == "replace")
    except (ProviderError, KeyDecryptionError) as exc:
        flash(describe_provider_error(exc, provider.name), "error")
    else:
        flash(
            _(
                "%(name)s lists %(total)d models: %(added)d added, %(removed)d removed.",
                name=provider.name,
                total=len(result.models),
                added=len(result.added),
                removed=len(result.removed),
            ),
            "success",
        )
    return _back(form, provider)


@bp.post("/setup")
@admin_required
def setup() -> Response:
    form = _action_form()
    try:
        result = setup_from_offer(form.preset.data or "")
    except OfferUnavailable:
        flash(
            _("That provider can no longer be set up in one click. Add it by hand instead."),
            "warning",
        )
    except NameTaken as exc:
        flash(_("A provider named “%(name)s” already exists.", name=exc.name), "warning")
    else:
        provider = result.provider
        if result.models_error:
            flash(
                _(
                    "Set up “%(name)s”, but its models could not be read: %(error)s Add model "
                    "names by hand or fetch them later.",
                    name=provider.name,
                    error=result.models_error,
                ),
                "warning",
            )
        else:
            flash(
                ngettext(
                    "Set up “%(name)s” with %(num)d model.",
                    "Set up “%(name)s” with %(num)d models.",
                    len(provider.models or []),
                    name=provider.name,
                ),
                "success",
            )
    return redirect(url_for("providers.index"))


@bp.get("/prices")
@admin_required
def prices() -> Response:
    """Where an answer's "price unknown — set it" leads: the named provider's price overrides
    (the list of providers when it no longer exists)."""
    name = request.args.get("name", "")[:200]
    provider = service.find_by_name(name) if name.strip() else None
    if provider is None:
        return redirect(url_for("providers.index"))
    return redirect(url_for("providers.edit", provider_id=provider.id) + "#prices")
