"""Forms for signing in, the account page and the admin pages."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, Length, Optional, ValidationError

from calango.models.user import DISPLAY_NAME_MAX, EMAIL_MAX
from calango.services.users import PASSWORD_MIN_LENGTH

PASSWORD_MAX = 1024


def _new_password(label: Any) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            InputRequired(_l("Enter a password.")),
            Length(
                min=PASSWORD_MIN_LENGTH,
                max=PASSWORD_MAX,
                message=_l(
                    "The password must have at least %(n)d characters.", n=PASSWORD_MIN_LENGTH
                ),
            ),
        ],
    )


def _confirm(label: Any, other: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            InputRequired(_l("Type the password again.")),
            EqualTo(other, message=_l("The two passwords are not the same.")),
        ],
    )


def _email() -> EmailField:
    return EmailField(
        _l("E-mail"),
        validators=[InputRequired(_l("Enter your e-mail address.")), Length(max=EMAIL_MAX)],
    )


def _display_name() -> StringField:
    return StringField(
        _l("Display name"),
        validators=[
            Optional(),
            Length(
                max=DISPLAY_NAME_MAX,
                message=_l("At most %(n)d characters.", n=DISPLAY_NAME_MAX),
            ),
        ],
    )


class LoginForm(FlaskForm):
    email = _email()
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password."))])
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class RegisterForm(FlaskForm):
    email = _email()
    display_name = _display_name()
    password = _new_password(_l("Password"))
    confirm = _confirm(_l("Password again"), "password")
    submit = SubmitField(_l("Create my account"))


class ProfileForm(FlaskForm):
    display_name = _display_name()
    submit = SubmitField(_l("Save"))


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        _l("Current password"), validators=[InputRequired(_l("Enter your current password."))]
    )
    password = _new_password(_l("New password"))
    confirm = _confirm(_l("New password again"), "password")
    submit = SubmitField(_l("Change password"))


class ActionForm(FlaskForm):
    """A POST button's form: only the CSRF token."""


class CreateUserForm(FlaskForm):
    email = _email()
    display_name = _display_name()
    password = _new_password(_l("Password"))
    admin = BooleanField(_l("Admin"))
    submit = SubmitField(_l("Create user"))


class ResetPasswordForm(FlaskForm):
    password = _new_password(_l("New password"))
    confirm = _confirm(_l("New password again"), "password")
    submit = SubmitField(_l("Set password"))


def parse_budget(raw: str | None) -> Decimal | None:
    """A budget in USD: blank is None; otherwise a number of 0 or more (ValueError)."""
    text = (raw or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or value < 0 or value >= Decimal("10000000000"):
        raise ValueError(text)
    return value.quantize(Decimal("0.01"))


class BudgetField(StringField):
    """Blank, or an amount in USD; ``.budget`` holds the parsed value."""

    budget: Decimal | None = None

    def pre_validate(self, form: Any) -> None:
        try:
            self.budget = parse_budget(self.data)
        except ValueError:
            raise ValidationError(
                _l("Enter an amount in US dollars, such as 20 or 7.50, or leave it blank.")
            ) from None


class BudgetForm(FlaskForm):
    budget = BudgetField(_l("Monthly budget (USD)"))
    submit = SubmitField(_l("Save budget"))


DELETE_CHATS = "delete"
GIVE_CHATS = "give"


class DeleteUserForm(FlaskForm):
    chats = RadioField(
        _l("Their chats, personas and calls"),
        choices=[
            SelectChoice(DELETE_CHATS, _l("Delete them")),
            SelectChoice(GIVE_CHATS, _l("Give them to another user")),
        ],
        default=DELETE_CHATS,
        validators=[InputRequired(_l("Choose what happens to their chats."))],
    )
    to_user = SelectField(_l("Give them to"), coerce=int, validate_choice=False)
    submit = SubmitField(_l("Delete user"))


class InstanceSettingsForm(FlaskForm):
    registration_open = BooleanField(_l("Anyone may create an account (registration open)"))
    default_budget = BudgetField(_l("Default monthly budget per user (USD)"))
    allow_local = BooleanField(_l("Allow providers on local and private addresses"))
    submit = SubmitField(_l("Save"))
