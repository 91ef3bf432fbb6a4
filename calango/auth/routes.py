"""Sign in, sign out, register, and the signed-in user's account page."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from calango.auth import bp
from calango.auth.forms import LoginForm, PasswordChangeForm, ProfileForm, RegisterForm
from calango.auth.gate import safe_next
from calango.extensions import client_address, limiter
from calango.models.user import User
from calango.services import users

LOGIN_LIMIT_PER_EMAIL = "10 per minute"
LOGIN_LIMIT_PER_ADDRESS = "50 per hour"
REGISTER_LIMIT = "10 per hour"


def _address_and_email() -> str:
    return f"{client_address()}|{User.normalize_email(request.form.get('email', ''))}"


def render_limited(endpoint: str, message: str) -> str:
    """The login or registration page again, saying the limit was reached."""
    if endpoint == "auth.register":
        return render_template("auth/register.html", form=RegisterForm(), error=message)
    form = LoginForm()
    return _login_page(form, message)


def _login_page(form: LoginForm, error: str | None) -> str:
    return render_template(
        "auth/login.html", form=form, error=error, registration_open=users.registration_open()
    )


def _start_session(user: User) -> None:
    session.clear()  # a fresh session: nothing from before signing in carries over
    login_user(user)
    users.record_login(user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT_PER_EMAIL, key_func=_address_and_email, methods=["POST"])
@limiter.limit(LOGIN_LIMIT_PER_ADDRESS, methods=["POST"])
def login() -> Any:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
        if current_user.is_authenticated:
            return redirect(form.next.data or url_for("chats.index"))
    error = None
    if form.validate_on_submit():
        user = users.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            target = safe_next(form.next.data) or url_for("chats.index")
            _start_session(user)
            return redirect(target)
        error = _("Wrong e-mail or password.")
    status = 200 if error is None and not form.errors else 400
    form.password.data = ""
    return _login_page(form, error), status


@bp.post("/logout")
def logout() -> Response:
    from calango.auth.forms import ActionForm

    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(REGISTER_LIMIT, methods=["POST"])
def register() -> Any:
    if not users.registration_open():
        abort(404)
    form = RegisterForm()
    error = None
    if form.validate_on_submit():
        try:
            user = users.create_user(
                form.email.data or "",
                form.password.data or "",
                display_name=form.display_name.data,
            )
        except users.AccountError as exc:
            error = str(exc)
        else:
            _start_session(user)
            flash(_("Welcome to Calango!"), "success")
            return redirect(url_for("chats.index"))
    status = 200 if request.method == "GET" else 400
    return render_template("auth/register.html", form=form, error=error), status


def _render_account(
    profile: ProfileForm | None = None, password: PasswordChangeForm | None = None
) -> str:
    if profile is None:
        profile = ProfileForm(formdata=None)
        profile.display_name.data = current_user.display_name
    return render_template(
        "auth/account.html",
        profile_form=profile,
        password_form=password or PasswordChangeForm(formdata=None),
    )


@bp.route("/account", methods=["GET", "POST"])
def account() -> Any:
    if request.method == "GET":
        return _render_account()
    form = ProfileForm()
    if not form.validate_on_submit():
        return _render_account(profile=form), 400
    users.update_profile(current_user, form.display_name.data)
    flash(_("Saved."), "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/password")
def change_password() -> Any:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            users.change_own_password(
                current_user, form.current.data or "", form.password.data or ""
            )
        except users.AccountError as exc:
            form.current.errors = [*form.current.errors, str(exc)]
        else:
            # The epoch moved on: every other session has ended; this one signs in again.
            login_user(current_user._get_current_object())
            flash(_("Password changed. Your other sessions are signed out."), "success")
            return redirect(url_for("auth.account"))
    return _render_account(password=form), 400
