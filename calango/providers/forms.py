"""Forms for the provider pages."""

from __future__ import annotations

import math
from typing import Any

from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Length, Optional, ValidationError

from calango.forms import UniqueNameForm, name_field, strip_whitespace
from calango.llm import PROVIDER_KINDS
from calango.models import Provider
from calango.models.provider import BASE_URL_MAX, MODEL_NAME_MAX, PRICE_MAX
from calango.services.network_policy import base_url_refusal
from calango.services.providers import is_http_url, normalize_models

KIND_LABELS = {
    "openai": _l("OpenAI-compatible (OpenAI, Groq, OpenRouter, Ollama, LM Studio…)"),
    "anthropic": _l("Anthropic (Messages API)"),
    "gemini": _l("Google Gemini"),
}


def parse_model_lines(text: str | None) -> list[str]:
    """One model per line: trimmed, blank lines dropped, duplicates removed, order kept."""
    return normalize_models((text or "").splitlines())


def parse_price_lines(text: str | None) -> dict[str, dict[str, float]]:
    """``model = input, output`` per line (USD per million tokens).

    Raises ``ValueError`` with a translated message naming the line.
    """
    prices: dict[str, dict[str, float]] = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        model, sep, values = line.rpartition("=")
        parts = [p.strip() for p in values.split(",")]
        model = model.strip()
        if not sep or not model or len(parts) != 2:
            raise ValueError(
                _(
                    "Line %(line)d (“%(text)s”) is not “model = input price, output price”.",
                    line=number,
                    text=line,
                )
            )
        try:
            numbers = [float(p.removeprefix("$")) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 2 or not all(math.isfinite(n) and 0 <= n <= PRICE_MAX for n in numbers):
            raise ValueError(
                _(
                    "Line %(line)d: prices must be numbers from 0 to %(max)s (US dollars per "
                    "million tokens), like “gpt-4o = 2.50, 10.00”.",
                    line=number,
                    max=format_number(PRICE_MAX),
                )
            )
        if len(model) > MODEL_NAME_MAX:
            raise ValueError(
                _(
                    "Line %(line)d: a model name has at most %(max)d characters.",
                    line=number,
                    max=MODEL_NAME_MAX,
                )
            )
        prices[model] = {"input": numbers[0], "output": numbers[1]}
    return prices


def format_price_lines(prices: dict[str, Any] | None) -> str:
    """The textarea form of ``Provider.price_overrides``."""
    lines = []
    for model, price in (prices or {}).items():
        if isinstance(price, dict):
            lines.append(f"{model} = {price.get('input', 0):g}, {price.get('output', 0):g}")
    return "\n".join(lines)


class ProviderForm(UniqueNameForm):
    """A provider's name, protocol, address, key, models and prices.

    The API key is write-only: a PasswordField never renders its value back.
    """

    name_model = Provider

    name = name_field(_l("Give the provider a name."))
    kind = SelectField(
        _l("Protocol"),
        choices=[SelectChoice(k, KIND_LABELS.get(k, k)) for k in PROVIDER_KINDS],
        validate_choice=False,
        validators=[AnyOf(PROVIDER_KINDS, message=_l("Pick one of the listed protocols."))],
    )
    base_url = StringField(
        _l("Base URL"),
        filters=[strip_whitespace],
        validators=[
            Optional(),
            Length(max=BASE_URL_MAX, message=_l("Keep the URL to %(max)d characters or fewer.")),
        ],
        render_kw={"placeholder": "https://api.example.com/v1", "autocomplete": "off"},
    )
    api_key = PasswordField(
        _l("API key"),
        filters=[strip_whitespace],
        render_kw={"autocomplete": "new-password", "spellcheck": "false"},
    )
    remove_key = BooleanField(_l("Remove the stored key"))
    models = TextAreaField(_l("Models"), render_kw={"rows": 6, "spellcheck": "false"})
    prices = TextAreaField(
        _l("Price overrides"),
        render_kw={"rows": 3, "spellcheck": "false", "placeholder": "gpt-4o = 2.50, 10.00"},
    )
    submit = SubmitField(_l("Save provider"))

    parsed_prices: dict[str, dict[str, float]]

    @staticmethod
    def initial(provider: Provider) -> dict[str, Any]:
        """Form values for editing ``provider`` (never its key)."""
        return {
            "name": provider.name,
            "kind": provider.kind,
            "base_url": provider.base_url or "",
            "models": "\n".join(provider.models or []),
            "prices": format_price_lines(provider.price_overrides),
        }

    def name_taken_message(self, name: str) -> str:
        return _(
            "A provider named “%(name)s” already exists. Names must differ by more than case.",
            name=name,
        )

    def validate_base_url(self, field: StringField) -> None:
        if field.data and not is_http_url(field.data):
            raise ValidationError(
                _(
                    "Enter a full http:// or https:// address without a user name or password, "
                    "like https://api.groq.com/openai/v1."
                )
            )
        refusal = base_url_refusal(field.data)
        if refusal:
            raise ValidationError(refusal)

    def validate_models(self, field: TextAreaField) -> None:
        for number, name in enumerate((field.data or "").splitlines(), start=1):
            if len(name.strip()) > MODEL_NAME_MAX:
                raise ValidationError(
                    _(
                        "Line %(line)d: a model name has at most %(max)d characters.",
                        line=number,
                        max=MODEL_NAME_MAX,
                    )
                )

    def validate_prices(self, field: TextAreaField) -> None:
        try:
            self.parsed_prices = parse_price_lines(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_remove_key(self, field: BooleanField) -> None:
        if field.data and self.api_key.data:
            raise ValidationError(
                _("Either enter a new key or remove the stored one, not both at once.")
            )


class ProviderActionForm(FlaskForm):
    """The small POST buttons: enable/disable, test, fetch models, set up an offer."""

    enabled = HiddenField(validators=[Optional(), AnyOf(["0", "1"])])
    mode = HiddenField(validators=[Optional(), AnyOf(["merge", "replace"])])
    next = HiddenField(validators=[Optional(), AnyOf(["list", "edit"])])
    preset = HiddenField(validators=[Optional(), Length(max=40)])
