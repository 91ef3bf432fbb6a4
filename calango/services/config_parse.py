"""Reading and checking a configuration file before anything is written.

Every problem raises :class:`ConfigImportError` with the field's path
(``providers.groq.models``) and, when the file is YAML at all, its line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml
from flask_babel import format_number
from flask_babel import gettext as _

from calango.services.personas import NAME_MAX as PERSONA_NAME_MAX
from calango.services.personas import PROMPT_MAX
from calango.services.providers import (
    BASE_URL_MAX,
    MODEL_NAME_MAX,
    NAME_MAX,
    PRICE_MAX,
    is_http_url,
    normalize_models,
)

SECTIONS = ("providers", "personas", "settings")
PROVIDER_FIELDS = ("kind", "api_key", "base_url", "models", "prices", "enabled")
PERSONA_FIELDS = ("name", "prompt")
SETTING_FIELDS = ("theme", "language")

Path = tuple[str | int, ...]


class ConfigImportError(Exception):
    """The file cannot be imported; the message says where and why. Nothing was changed."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        return self.message


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


@dataclass
class ParsedConfig:
    providers: list[ProviderSpec] = field(default_factory=list)
    personas: list[tuple[str, str]] = field(default_factory=list)
    theme: str | None = None
    has_language: bool = False
    language: str | None = None


def path_text(path: Path) -> str:
    """``providers.groq.models`` / ``personas[1].name``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def _index_lines(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _index_lines(value, (*path, str(key.value)), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            _index_lines(value, (*path, i), lines)


def load_yaml(text: str) -> tuple[Any, dict[Path, int]]:
    """The document and the line of every value in it, or a ConfigImportError with the line."""
    try:
        loader = yaml.SafeLoader(text)  # refuses NUL and other control characters at once
    except yaml.YAMLError as exc:
        raise ConfigImportError(
            _("The file is not valid YAML: %(problem)s.", problem=exc)
        ) from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or str(exc)
        if mark is not None:
            raise ConfigImportError(
                _(
                    "The file is not valid YAML: %(problem)s (line %(line)d, column %(column)d).",
                    problem=problem,
                    line=mark.line + 1,
                    column=mark.column + 1,
                ),
                line=mark.line + 1,
            ) from None
        raise ConfigImportError(
            _("The file is not valid YAML: %(problem)s.", problem=problem)
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigImportError(
            _("The file is not valid YAML: %(problem)s.", problem=exc)
        ) from None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return data, lines


class _Checker:
    def __init__(self, lines: dict[Path, int]) -> None:
        self.lines = lines

    def fail(self, path: Path, message: str) -> ConfigImportError:
        line = self.lines.get(path)
        shown = path_text(path)
        if line is not None:
            message = _("%(message)s (line %(line)d)", message=message, line=line)
        return ConfigImportError(message, path=shown, line=line)

    def mapping(self, value: Any, path: Path) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(
                path, _("%(path)s must be a mapping (name: value).", path=path_text(path))
            )
        return value

    def known_keys(self, value: dict[Any, Any], path: Path, allowed: tuple[str, ...]) -> None:
        for key in value:
            if key not in allowed:
                raise self.fail(
                    (*path, str(key)),
                    _(
                        "%(path)s is not a known field; use %(allowed)s.",
                        path=path_text((*path, str(key))),
                        allowed=", ".join(allowed),
                    ),
                )

    def text(self, value: Any, path: Path, max_len: int, required: bool = True) -> str:
        if value is None:
            value = ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(path, _("%(path)s must be text.", path=path_text(path)))
        text = str(value).strip()
        if required and not text:
            raise self.fail(path, _("%(path)s must not be empty.", path=path_text(path)))
        if len(text) > max_len:
            raise self.fail(
                path,
                _("%(path)s is longer than %(max)d characters.", path=path_text(path), max=max_len),
            )
        return text


def _check_provider(check: _Checker, name: Any, value: Any, kinds: tuple[str, ...]) -> ProviderSpec:
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
        spec.api_key = check.text(entry["api_key"], (*base, "api_key"), 4000, required=False)
    if "base_url" in entry:
        spec.has_base_url = True
        path = (*base, "base_url")
        url = entry["base_url"]
        if url is not None and str(url).strip():
            url = check.text(url, path, BASE_URL_MAX)
            if "$" not in url and not is_http_url(url):
                raise check.fail(
                    path,
                    _("%(path)s must be an http:// or https:// address.", path=path_text(path)),
                )
            spec.base_url = url
    if "models" in entry:
        path = (*base, "models")
        models = entry["models"] if entry["models"] is not None else []
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise check.fail(
                path, _("%(path)s must be a list of model names (text).", path=path_text(path))
            )
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
    return spec


def _check_prices(check: _Checker, value: Any, path: Path) -> dict[str, dict[str, float]]:
    prices: dict[str, dict[str, float]] = {}
    for model, price in check.mapping(value, path).items():
        where = (*path, str(model))
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


def _check_model_names(check: _Checker, models: list[str], path: Path) -> list[str]:
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


def _refuse_nul(check: _Checker, value: Any, path: Path) -> None:
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


def _check_personas(check: _Checker, value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise check.fail(
            ("personas",),
            _("personas must be a list of entries with a name and a prompt."),
        )
    personas: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, entry in enumerate(value):
        path: Path = ("personas", i)
        if not isinstance(entry, dict):
            raise check.fail(
                path, _("%(path)s must have a name and a prompt.", path=path_text(path))
            )
        check.known_keys(entry, path, PERSONA_FIELDS)
        name = check.text(entry.get("name"), (*path, "name"), PERSONA_NAME_MAX)
        prompt = check.text(entry.get("prompt"), (*path, "prompt"), PROMPT_MAX)
        if name.lower() in seen:
            raise check.fail(
                (*path, "name"),
                _(
                    "%(path)s: the persona “%(name)s” appears twice.",
                    path=path_text(path),
                    name=name,
                ),
            )
        seen.add(name.lower())
        personas.append((name, prompt))
    return personas


def parse_config(
    text: str, kinds: tuple[str, ...], themes: tuple[str, ...], languages: tuple[str, ...]
) -> ParsedConfig:
    """Check ``text`` completely; raises :class:`ConfigImportError` at the first problem."""
    data, lines = load_yaml(text)
    check = _Checker(lines)
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
    for name, value in check.mapping(data.get("providers"), ("providers",)).items():
        spec = _check_provider(check, name, value, kinds)
        if spec.name.lower() in seen:
            raise check.fail(
                ("providers", str(name)),
                _("providers: the name “%(name)s” appears twice (names ignore case).", name=name),
            )
        seen.add(spec.name.lower())
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
