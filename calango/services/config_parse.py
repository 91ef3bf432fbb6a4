"""Reading and checking a configuration file before anything is written.

Every problem raises :class:`ConfigImportError` with the field's path
(``providers.groq.models``) and, when the file is YAML at all, its line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import format_number
from flask_babel import gettext as _

from calango.models.names import NAME_MAX, normalize_name
from calango.models.persona import PROMPT_MAX
from calango.models.provider import BASE_URL_MAX, MODEL_NAME_MAX, PRICE_MAX
from calango.services.config_check import Checker, env_reference_allowed, url_error
from calango.services.config_errors import ConfigImportError, Path, path_text
from calango.services.config_yaml import load_yaml
from calango.services.providers import is_http_url, normalize_models

SECTIONS = ("providers", "personas", "settings")
PROVIDER_FIELDS = ("kind", "api_key", "base_url", "models", "prices", "enabled", "local")
PERSONA_FIELDS = ("name", "prompt")
SETTING_FIELDS = ("theme", "language")
# More than this is not a configuration but an attack on the import (each entry is a write).
MAX_PROVIDERS = 200
MAX_PERSONAS = 1000
MAX_MODELS = 1000


@dataclass
class ProviderSpec:
    """One provider as the file describes it; ``None`` means "not in the file"."""

    name: str
    kind: str | None = None
    api_key: str | None = None
    has_base_url: bool = False
    base_url: str | None = None
    models: list[str] | None = None
    prices: dict[str, dict[str, float]] | None = None
    enabled: bool | None = None
    local: bool | None = None  # a local runtime (free)


@dataclass
class ParsedConfig:
    providers: list[ProviderSpec] = field(default_factory=list)
    personas: list[tuple[str, str]] = field(default_factory=list)
    theme: str | None = None
    has_language: bool = False
    language: str | None = None


def _check_provider(check: Checker, name: Any, value: Any, kinds: tuple[str, ...]) -> ProviderSpec:
    base: Path = ("providers", str(name))
    if not isinstance(name, str) or not name.strip():
        raise check.fail(base, _("%(path)s: provider names must be text.", path=path_text(base)))
    spec = ProviderSpec(name=check.text(name, base, NAME_MAX))
    entry = check.mapping(value, base)
    check.known_keys(entry, base, PROVIDER_FIELDS)
    if "kind" in entry:
        kind = entry["kind"]
        if kind not in kinds:
            raise check.fail(
                (*base, "kind"),
                _(
                    "%(path)s must be one of %(kinds)s.",
                    path=path_text((*base, "kind")),
                    kinds=", ".join(kinds),
                ),
            )
        spec.kind = kind
    if entry.get("api_key") is not None:
        path = (*base, "api_key")
        spec.api_key = check.text(entry["api_key"], path, 4000, required=False, verbatim=True)
        check.key_references(spec.api_key, path)
    if "base_url" in entry:
        spec.has_base_url = True
        path = (*base, "base_url")
        url = entry["base_url"]
        if url is not None and str(url).strip():
            url = check.text(url, path, BASE_URL_MAX)
            if not is_http_url(url):
                raise check.fail(path, url_error(path_text(path)))
            spec.base_url = url
    if "models" in entry:
        path = (*base, "models")
        models = entry["models"] if entry["models"] is not None else []
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise check.fail(
                path, _("%(path)s must be a list of model names (text).", path=path_text(path))
            )
        check.at_most(models, path, MAX_MODELS)
        for i, model in enumerate(models):
            check.no_reference(model, (*path, i))
        spec.models = _check_model_names(check, normalize_models(models), path)
    if "prices" in entry:
        spec.prices = _check_prices(check, entry["prices"], (*base, "prices"))
    if "enabled" in entry:
        if not isinstance(entry["enabled"], bool):
            raise check.fail(
                (*base, "enabled"),
                _("%(path)s must be true or false.", path=path_text((*base, "enabled"))),
            )
        spec.enabled = entry["enabled"]
    if "local" in entry:
        if not isinstance(entry["local"], bool):
            raise check.fail(
                (*base, "local"),
                _("%(path)s must be true or false.", path=path_text((*base, "local"))),
            )
        spec.local = entry["local"]
    return spec


def _check_prices(check: Checker, value: Any, path: Path) -> dict[str, dict[str, float]]:
    prices: dict[str, dict[str, float]] = {}
    entries = check.mapping(value, path)
    check.at_most(entries, path, MAX_MODELS)
    for model, price in entries.items():
        where = (*path, str(model))
        check.no_reference(str(model), where)
        ok = isinstance(price, dict) and set(price) == {"input", "output"}
        numbers = [price.get("input"), price.get("output")] if ok else []
        if not ok or not all(
            isinstance(n, int | float)
            and not isinstance(n, bool)
            and math.isfinite(n)
            and 0 <= n <= PRICE_MAX
            for n in numbers
        ):
            raise check.fail(
                where,
                _(
                    "%(path)s must be {input: N, output: N} with numbers from 0 to %(max)s (US "
                    "dollars per million tokens).",
                    path=path_text(where),
                    max=format_number(PRICE_MAX),
                ),
            )
        _check_model_names(check, [str(model).strip()], path)
        prices[str(model).strip()] = {"input": float(numbers[0]), "output": float(numbers[1])}
    return prices


def _check_model_names(check: Checker, models: list[str], path: Path) -> list[str]:
    for model in models:
        if len(model) > MODEL_NAME_MAX:
            raise check.fail(
                path,
                _(
                    "%(path)s: a model name has at most %(max)d characters.",
                    path=path_text(path),
                    max=MODEL_NAME_MAX,
                ),
            )
    return models


def _refuse_nul(check: Checker, value: Any, path: Path) -> None:
    """NUL characters (a YAML "\\0" escape) cannot be stored: name where one is."""
    if isinstance(value, str) and "\x00" in value:
        raise check.fail(path, _("%(path)s contains a NUL character.", path=path_text(path) or "…"))
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(check, key, path)
            _refuse_nul(check, item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_nul(check, item, (*path, index))


def _check_personas(check: Checker, value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise check.fail(
            ("personas",),
            _("personas must be a list of entries with a name and a prompt."),
        )
    check.at_most(value, ("personas",), MAX_PERSONAS)
    personas: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, entry in enumerate(value):
        path: Path = ("personas", i)
        if not isinstance(entry, dict):
            raise check.fail(
                path, _("%(path)s must have a name and a prompt.", path=path_text(path))
            )
        check.known_keys(entry, path, PERSONA_FIELDS)
        name = check.text(entry.get("name"), (*path, "name"), NAME_MAX)
        # Prompts are free text ("explain $PATH"): kept as written, never expanded.
        prompt = check.text(entry.get("prompt"), (*path, "prompt"), PROMPT_MAX, verbatim=True)
        if normalize_name(name) in seen:
            raise check.fail(
                (*path, "name"),
                _(
                    "%(path)s: the persona “%(name)s” appears twice.",
                    path=path_text(path),
                    name=name,
                ),
            )
        seen.add(normalize_name(name))
        personas.append((name, prompt))
    return personas


def parse_config(
    text: str,
    kinds: tuple[str, ...],
    themes: tuple[str, ...],
    languages: tuple[str, ...],
    env_allowed: Callable[[str], bool] = env_reference_allowed,
) -> ParsedConfig:
    """Check ``text`` completely; raises :class:`ConfigImportError` at the first problem.

    ``env_allowed`` says which environment variables an ``api_key`` may reference.
    """
    data, lines = load_yaml(text)
    check = Checker(lines, env_allowed)
    if data is None:
        raise ConfigImportError(_("The file is empty: there is nothing to import."))
    if not isinstance(data, dict):
        raise check.fail(
            (),
            _("The file must start with providers:, personas: or settings:."),
        )
    _refuse_nul(check, data, ())
    check.known_keys(data, (), SECTIONS)
    parsed = ParsedConfig()
    seen: set[str] = set()
    providers = check.mapping(data.get("providers"), ("providers",))
    check.at_most(providers, ("providers",), MAX_PROVIDERS)
    for name, value in providers.items():
        spec = _check_provider(check, name, value, kinds)
        if normalize_name(spec.name) in seen:
            raise check.fail(
                ("providers", str(name)),
                _(
                    "providers: the name “%(name)s” appears twice (names ignore case).",
                    name=name,
                ),
            )
        seen.add(normalize_name(spec.name))
        parsed.providers.append(spec)
    parsed.personas = _check_personas(check, data.get("personas"))
    settings = check.mapping(data.get("settings"), ("settings",))
    check.known_keys(settings, ("settings",), SETTING_FIELDS)
    if settings.get("theme") is not None:
        if settings["theme"] not in themes:
            raise check.fail(
                ("settings", "theme"),
                _("settings.theme must be one of %(themes)s.", themes=", ".join(themes)),
            )
        parsed.theme = settings["theme"]
    if "language" in settings:
        language = settings["language"]
        if isinstance(language, str):
            language = language.strip().replace("-", "_") or None
        if language is not None and language not in languages:
            raise check.fail(
                ("settings", "language"),
                _(
                    "settings.language must be one of %(languages)s, or empty to follow the "
                    "browser.",
                    languages=", ".join(languages),
                ),
            )
        parsed.has_language = True
        parsed.language = language
    return parsed
