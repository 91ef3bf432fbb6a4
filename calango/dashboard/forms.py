"""The dashboard's filters: a GET form whose values live in the query string."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Length, Optional, ValidationError

from calango.forms import strip_whitespace
from calango.models import CallKind

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


def period_choices() -> list[tuple[str, Any]]:
    return [
        ("7d", _l("Last 7 days")),
        ("30d", _l("Last 30 days")),
        ("this_month", _l("This month")),
        ("last_month", _l("Last month")),
        ("all", _l("All time")),
        ("custom", _l("Custom range")),
    ]


def kind_labels() -> dict[str, Any]:
    return {
        CallKind.CHAT: _l("Chat answer"),
        CallKind.TEST_CONNECTION: _l("Test connection"),
        CallKind.FETCH_MODELS: _l("Fetch models"),
        CallKind.ARENA: _l("A Rinha answer"),
        CallKind.HATCH: _l("Hatch a persona"),
        CallKind.TITLE: _l("Chat title"),
    }


class FilterForm(FlaskForm):
    """Period, provider, model, persona and kind of call. Read-only, so no CSRF token."""

    class Meta:
        csrf = False

    period = SelectField(_l("Period"), choices=period_choices, default="30d")
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    provider = SelectField(
        _l("Provider"), validators=[Length(max=80)], filters=[strip_whitespace],
        validate_choice=False,
    )  # fmt: skip
    model = SelectField(
        _l("Model"), validators=[Length(max=200)], filters=[strip_whitespace],
        validate_choice=False,
    )  # fmt: skip
    persona = SelectField(
        _l("Persona"), validators=[Length(max=80)], filters=[strip_whitespace],
        validate_choice=False,
    )  # fmt: skip
    kind = SelectField(_l("Kind of call"), default="")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [("", _l("All kinds")), *kind_labels().items()]
        self.offer({})

    def offer(self, options: dict[str, list[str]]) -> None:
        """The choices of the provider, model and persona lists (the chosen value stays
        offered even when it no longer appears, e.g. from a bookmark)."""
        for name, everything in (
            ("provider", _l("All providers")),
            ("model", _l("All models")),
            ("persona", _l("All personas")),
        ):
            field = getattr(self, name)
            values = list(options.get(name, []))
            chosen = field.data.strip() if isinstance(field.data, str) else ""
            if chosen and chosen not in values:
                values.append(chosen)
            field.choices = [("", everything), *((v, v) for v in values)]

    def validate_start(self, field: DateField) -> None:
        if field.data and not EARLIEST <= field.data <= LATEST:
            raise ValidationError(_l("Choose a date between 2000 and 2100."))

    def validate_end(self, field: DateField) -> None:
        if field.data and not EARLIEST <= field.data <= LATEST:
            raise ValidationError(_l("Choose a date between 2000 and 2100."))

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields, then the range as a whole (an empty date skips its field's checks)."""
        valid = super().validate(extra_validators)
        if not valid or self.period.data != "custom":
            return valid
        if not self.start.data or not self.end.data:
            self.end.errors = [*self.end.errors, _l("A custom range needs both dates.")]
            return False
        if self.start.data > self.end.data:
            self.end.errors = [*self.end.errors, _l("The end date is before the start date.")]
            return False
        return True
