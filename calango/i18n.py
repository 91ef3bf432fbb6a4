"""Language selection and locale-aware formatting (the one place for numbers, money and
dates: templates use the ``number``, ``seconds``, ``money`` and ``when`` filters)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import (
    Babel,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    get_translations,
)
from flask_babel import format_currency as _format_currency
from flask_babel import gettext as _

LANGUAGE_NAMES = {"en": "English", "pt_BR": "Português (Brasil)"}


def select_locale() -> str:
    """The saved language, else the best match for the browser's Accept-Language."""
    saved = getattr(g, "calango_language", None)
    if saved is None:
        from calango.services.preferences import saved_language

        saved = g.calango_language = saved_language() or ""
    if saved in current_app.config["LANGUAGES"]:
        return saved
    if not has_request_context():  # CLI commands and background work: no browser to ask
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    match = request.accept_languages.best_match(
        ["pt_BR", "pt-BR", "pt", "en"], default=current_app.config["BABEL_DEFAULT_LOCALE"]
    )
    return "pt_BR" if match and match.startswith("pt") else "en"


def format_money(value: Decimal | float | None) -> str:
    """USD amounts; sub-cent costs keep enough digits to be meaningful."""
    if value is None:
        return "—"
    amount = Decimal(str(value))
    if amount != 0 and abs(amount) < Decimal("0.01"):
        # The locale's own pattern ("¤#,##0.00", pt_BR "¤ #,##0.00") with six decimals, so
        # that "US$ 0,000316" is spaced like "US$ 0,50".
        locale = get_locale()
        pattern = locale.currency_formats["standard"].pattern if locale else "¤#,##0.00"
        pattern = pattern.split(";")[0].replace("0.00", "0.000000")
        return _format_currency(amount, "USD", format=pattern, currency_digits=False)
    return _format_currency(amount, "USD")


def format_when(value: datetime | None, fmt: str = "short") -> str:
    """A timestamp in the user's locale."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def format_day(value: date | None) -> str:
    """A calendar date in the user's locale (no time zone shift: it already is a local day)."""
    if value is None:
        return ""
    return format_date(value, "medium")


def format_number(value: Any) -> str:
    """An integer or decimal with the locale's separators."""
    if value is None:
        return "—"
    return format_decimal(value)


def format_seconds(milliseconds: int | None) -> str:
    """A duration in milliseconds as seconds with up to two decimals (``1,25`` in pt_BR)."""
    if milliseconds is None:
        return "—"
    return format_decimal(Decimal(milliseconds) / 1000, format="#,##0.##")


def format_file_size(size: int | None) -> str:
    """A file's size in bytes, kB or MB (1000-based, as file managers show them)."""
    if size is None:
        return "—"
    if size < 1000:
        return _("%(n)s B", n=format_decimal(size))
    if size < 1_000_000:
        return _("%(n)s kB", n=format_decimal(Decimal(size) / 1000, format="#,##0"))
    return _("%(n)s MB", n=format_decimal(Decimal(size) / 1_000_000, format="#,##0.#"))


def template_translations() -> Any:
    """The translations of the current locale, for templates' ``_()``: Flask-Babel's own
    lookup walks a dozen context proxies on every call, and a message bubble makes ~25 of
    them. Kept beside Flask-Babel's locale in its per-context namespace, so a
    ``force_locale`` or a ``refresh`` (a new locale object, or none) looks them up again."""
    space = _babel_space()
    kept = getattr(space, "calango_translations", None)
    if kept is not None and kept[0] is getattr(space, "babel_locale", None):
        return kept[1]
    translations = get_translations()  # creates the namespace and sets its locale
    space = _babel_space()
    locale = getattr(space, "babel_locale", None)
    if locale is not None:  # outside any context there is nothing to keep them in
        space.calango_translations = (locale, translations)
    return translations


def _babel_space() -> Any:
    """Flask-Babel's per-context namespace (``None`` outside an app context or before its
    first lookup)."""
    return g.get("_flask_babel") if g else None


def init_i18n(app: Flask, babel: Babel) -> None:
    """Bind Flask-Babel and expose the formatting helpers to templates."""
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path) + "/translations",
    )
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: template_translations().ugettext(s),
        ngettext=lambda s, p, n: template_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: template_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: template_translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["when"] = format_when
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["seconds"] = format_seconds
    app.jinja_env.filters["filesize"] = format_file_size
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
