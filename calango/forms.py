"""Pieces shared by the forms of every blueprint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from flask import flash, redirect, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.wrappers import Response
from wtforms import Field, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from calango.models.names import NAME_MAX, UniquelyNamed
from calango.services.names import NameTaken, name_in_use


def strip_whitespace(value: Any) -> Any:
    """WTForms filter: trim text input (other values pass through)."""
    return value.strip() if isinstance(value, str) else value


class ConfirmForm(FlaskForm):
    """A bare form: CSRF token and a submit button (every delete confirmation, Stop)."""

    submit = SubmitField(_l("Confirm"))


def name_field(missing_message: str) -> StringField:
    """The ``name`` field of a uniquely named thing: trimmed, required, at most NAME_MAX."""
    return StringField(
        _l("Name"),
        filters=[strip_whitespace],
        validators=[
            DataRequired(missing_message),
            Length(max=NAME_MAX, message=_l("Keep the name to %(max)d characters or fewer.")),
        ],
        render_kw={"maxlength": NAME_MAX, "autocomplete": "off"},
    )


def confirm_then_delete(
    template: str, delete: Callable[[], object], done: str, next_url: str, **context: Any
) -> str | Response:
    """The one delete flow (chats, personas, providers), without JavaScript: GET renders
    ``template`` (a ``confirm_page``) with a :class:`ConfirmForm`; its POST, with a valid CSRF
    token, calls ``delete``, flashes ``done`` and redirects (303) to ``next_url``."""
    form = ConfirmForm()
    if form.validate_on_submit():
        delete()
        flash(done, "success")
        return redirect(next_url, code=303)
    return render_template(template, form=form, **context)


class UniqueNameForm(FlaskForm):
    """A form whose ``name`` field must be free under the name rule
    (:func:`calango.models.names.normalize_name`).

    ``record_id`` is the row being edited (None when creating), so it may keep its own name or
    change only its case. Subclasses set ``name_model`` and ``name_taken_message``.
    """

    name_model: ClassVar[type[UniquelyNamed]]
    name: Field

    def __init__(self, *args: Any, record_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.record_id = record_id

    def name_taken_message(self, name: str) -> str:
        """The error shown beside the name when another row has it."""
        raise NotImplementedError

    def name_scope(self) -> ColumnElement[bool] | None:
        """The rows among which the name must be free (``None``: the whole table)."""
        return None

    def validate_name(self, field: Field) -> None:
        # Checked here so it is reported with the other errors; the service checks again and
        # guards the write (report_name_taken covers a writer that raced us).
        if field.data and name_in_use(
            self.name_model, field.data, self.record_id, self.name_scope()
        ):
            raise ValidationError(self.name_taken_message(field.data))

    def report_name_taken(self, exc: NameTaken) -> None:
        """Show the service's :class:`NameTaken` beside the name field."""
        self.name.errors = [*self.name.errors, self.name_taken_message(exc.name)]
