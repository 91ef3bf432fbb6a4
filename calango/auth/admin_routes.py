"""Admin pages (SERVER): users, instance settings, the audit log."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from calango.access import admin_required
from calango.auth import bp
from calango.auth.forms import (
    GIVE_CHATS,
    ActionForm,
    BudgetForm,
    CreateUserForm,
    DeleteUserForm,
    InstanceSettingsForm,
    ResetPasswordForm,
)
from calango.extensions import db
from calango.models.user import User
from calango.services import audit, network_policy, users

AUDIT_PAGE_SIZE = 50


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.is_local:
        abort(404)
    return user


def _actor() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _render_users(create_form: CreateUserForm | None = None) -> str:
    rows = users.users()
    budget_forms = {}
    for user in rows:
        form = BudgetForm(formdata=None, prefix=f"u{user.id}")
        form.budget.data = "" if user.monthly_budget_usd is None else str(user.monthly_budget_usd)
        budget_forms[user.id] = form
    return render_template(
        "admin/users.html",
        users=rows,
        create_form=create_form or CreateUserForm(formdata=None),
        budget_forms=budget_forms,
        action_form=ActionForm(),
        default_budget=users.default_budget(),
    )


@bp.get("/admin/users")
@admin_required
def admin_users() -> str:
    return _render_users()


@bp.post("/admin/users")
@admin_required
def admin_create_user() -> Any:
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            user = users.create_user(
                form.email.data or "",
                form.password.data or "",
                display_name=form.display_name.data,
                admin=bool(form.admin.data),
                audited=True,
            )
        except users.AccountError as exc:
            form.email.errors = [*form.email.errors, str(exc)]
        else:
            flash(_("Created the account %(email)s.", email=user.email), "success")
            return redirect(url_for("auth.admin_users"))
    return _render_users(create_form=form), 400


@bp.post("/admin/users/<int:user_id>/active")
@admin_required
def admin_set_active(user_id: int) -> Response:
    user = _user_or_404(user_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    try:
        users.set_active(_actor(), user, active)
    except users.AccountError as exc:
        flash(str(exc), "error")
    else:
        if active:
            flash(_("Enabled %(email)s.", email=user.email), "success")
        else:
            flash(_("Disabled %(email)s: they are signed out.", email=user.email), "success")
    return redirect(url_for("auth.admin_users"))


@bp.post("/admin/users/<int:user_id>/budget")
@admin_required
def admin_set_budget(user_id: int) -> Response:
    user = _user_or_404(user_id)
    form = BudgetForm(prefix=f"u{user.id}")
    if form.validate_on_submit():
        users.set_budget(user, form.budget.budget)
        flash(_("Saved the budget of %(email)s.", email=user.email), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    return redirect(url_for("auth.admin_users"))


@bp.route("/admin/users/<int:user_id>/password", methods=["GET", "POST"])
@admin_required
def admin_reset_password(user_id: int) -> Any:
    user = _user_or_404(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        users.set_password(user, form.password.data or "", audited=True)
        flash(
            _("New password set for %(email)s: they are signed out.", email=user.email), "success"
        )
        return redirect(url_for("auth.admin_users"))
    status = 200 if request.method == "GET" else 400
    return render_template("admin/reset_password.html", form=form, user=user), status


@bp.route("/admin/users/<int:user_id>/delete", methods=["GET", "POST"])
@admin_required
def admin_delete_user(user_id: int) -> Any:
    user = _user_or_404(user_id)
    others = [u for u in users.users() if u.id != user.id]
    form = DeleteUserForm()
    form.to_user.choices = [SelectChoice(u.id, u.label) for u in others]
    error = None
    if form.validate_on_submit():
        hand_to = None
        if form.chats.data == GIVE_CHATS:
            hand_to = next((u for u in others if u.id == form.to_user.data), None)
            if hand_to is None:
                error = _("Choose the user who receives the chats.")
        if error is None:
            email = user.email
            try:
                users.delete_user(_actor(), user, hand_to=hand_to)
            except users.AccountError as exc:
                error = str(exc)
            else:
                flash(_("Deleted the account %(email)s.", email=email), "success")
                return redirect(url_for("auth.admin_users"))
    status = 200 if request.method == "GET" else 400
    return render_template(
        "admin/delete_user.html", form=form, user=user, error=error, others=others
    ), status


@bp.route("/admin/settings", methods=["GET", "POST"])
@admin_required
def admin_settings() -> Any:
    form = InstanceSettingsForm()
    if request.method == "GET":
        form.registration_open.data = users.registration_open()
        budget = users.default_budget()
        form.default_budget.data = "" if budget is None else str(budget)
        form.allow_local.data = network_policy.local_providers_allowed()
    elif form.validate_on_submit():
        users.save_instance_settings(
            registration=bool(form.registration_open.data),
            budget=form.default_budget.budget,
            allow_local=bool(form.allow_local.data),
        )
        flash(_("Saved."), "success")
        return redirect(url_for("auth.admin_settings"))
    status = 200 if request.method == "GET" else 400
    return render_template("admin/settings.html", form=form), status


@bp.get("/admin/audit")
@admin_required
def admin_audit() -> str:
    page = db.paginate(audit.newest_first(), per_page=AUDIT_PAGE_SIZE, error_out=False)
    return render_template("admin/audit.html", page=page)
