"""The configuration file ("DNA"): providers, personas and settings as YAML, in and out.

The format is the original Calango's ``config.yaml``::

    providers:
      groq:
        api_key: "$GROQ_API_KEY"          # literal, ${VAR} or $VAR
        base_url: https://api.groq.com/openai/v1   # optional
        kind: openai                      # optional: openai, anthropic or gemini
        models: [llama-3.1-8b-instant]
        prices: {llama-3.1-8b-instant: {input: 0.05, output: 0.08}}   # optional
        enabled: true                     # optional
        local: false                      # optional: a local runtime (answers cost $0)
    personas:
      - {name: Pirate, prompt: "Answer like a pirate."}
    settings: {theme: calango, language: pt_BR}

An import is all or nothing: it is checked completely before anything is written, and written
in one transaction. Fields a provider leaves out are left as they are; importing the same file
twice changes nothing the second time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from calango.encryption import KeyDecryptionError
from calango.extensions import db
from calango.llm import ENV_KEYS, PRESETS, PROVIDER_KINDS, official_family
from calango.models import Persona, Provider
from calango.services import preferences
from calango.services.config_check import ENV_REFERENCE, env_reference_allowed, url_error
from calango.services.config_export import (
    ConfigExportError,
    export_config,
    key_placeholder,
    preset_local,
)
from calango.services.config_parse import (
    ConfigImportError,
    ParsedConfig,
    ProviderSpec,
    parse_config,
)
from calango.services.imports.owner import default_owner
from calango.services.providers import (
    effective_address,
    find_by_name,
    is_http_url,
    normalize_base_url,
)
from calango.themes import DEFAULT_THEME, THEMES

__all__ = [
    "ConfigExportError",
    "ConfigImportError",
    "ImportResult",
    "export_config",
    "import_config",
    "key_placeholder",
]


@dataclass
class ImportResult:
    """What an import did, as field paths (``providers.groq``, ``settings.theme``)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def config_environ() -> dict[str, str]:
    """The environment ``${VAR}`` references read: ``.env`` in CALANGO_HOME, then the real
    environment (which already holds the project's ``.env``, loaded at start-up)."""
    values: dict[str, str] = {}
    home = current_app.config.get("CALANGO_HOME")
    if home and (Path(home) / ".env").is_file():
        values.update({k: v for k, v in dotenv_values(Path(home) / ".env").items() if v})
    values.update(os.environ)
    return values


def expand_vars(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace ``${VAR}`` and ``$VAR`` from ``environ``; also returns the names that are unset."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        value = environ.get(name)
        if not value:
            missing.append(name)
            return ""
        return value

    return ENV_REFERENCE.sub(replace, text), missing


def _preset_for(name: str) -> dict[str, Any] | None:
    lowered = name.lower()
    for key, preset in PRESETS.items():
        if lowered in (key, str(preset["label"]).lower()):
            return preset
    return None


def infer_kind(name: str, base_url: str | None) -> str:
    """``anthropic`` or ``gemini`` when the name or address says so, else ``openai``."""
    preset = _preset_for(name)
    if preset:
        return str(preset["kind"])
    text = f"{name} {base_url or ''}".lower()
    if "anthropic" in text:
        return "anthropic"
    if "gemini" in text or "google" in text:
        return "gemini"
    return "openai"


def _assign(obj: Any, attr: str, value: Any) -> bool:
    # Assign only real changes, so an identical import issues no UPDATE (updated_at stays).
    if getattr(obj, attr) == value:
        return False
    setattr(obj, attr, value)
    return True


def _foreign_vendor_variables(value: str, kind: str, base_url: str | None) -> list[str]:
    """The vendors' variables in ``value`` (``$OPENAI_API_KEY``…) that do not belong to the
    service at this address: a file must not send one vendor's key to another host."""
    family = official_family(kind, base_url)  # from the address alone, never the name
    foreign = []
    for match in ENV_REFERENCE.finditer(value):
        name = match.group(1) or match.group(2)
        owner = next((f for f, names in ENV_KEYS.items() if name in names), None)
        if owner is not None and owner != family:
            foreign.append(name)
    return foreign


def _resolve_key(
    spec: ProviderSpec,
    environ: Mapping[str, str] | None,
    result: ImportResult,
    kind: str,
    base_url: str | None,
) -> str:
    if not spec.api_key:
        return ""
    if environ is None and ENV_REFERENCE.search(spec.api_key):
        result.warnings.append(
            _(
                "%(path)s: keys written as $VAR are read only by the command line on a server "
                "(flask calango import-config), so no key was read from the file.",
                path=f"providers.{spec.name}",
            )
        )
        return ""
    foreign = _foreign_vendor_variables(spec.api_key, kind, base_url)
    if foreign:
        result.warnings.append(
            _(
                "%(path)s: %(vars)s is another service's key and is only sent to that service's "
                "own address, so no key was read from the file.",
                path=f"providers.{spec.name}",
                vars=", ".join(f"${v}" for v in foreign),
            )
        )
        return ""
    key, missing = expand_vars(spec.api_key, environ)
    if missing:
        result.warnings.append(
            _(
                "%(path)s: %(vars)s is not set, so no key was read from the file; the key is "
                "taken from the environment when the provider is used.",
                path=f"providers.{spec.name}",
                vars=", ".join(f"${v}" for v in missing),
            )
        )
        return ""
    return key.strip()


def _import_provider(
    spec: ProviderSpec, environ: Mapping[str, str] | None, result: ImportResult
) -> None:
    path = f"providers.{spec.name}"
    base_url = normalize_base_url(spec.base_url) if spec.base_url is not None else None
    if base_url is not None and not is_http_url(base_url):
        # Checked once more as it will be stored and called (never expanded: see config_check).
        raise ConfigImportError(url_error(f"{path}.base_url"))
    provider = find_by_name(spec.name)
    if provider is None:
        preset = _preset_for(spec.name)
        if not spec.has_base_url and preset:
            base_url = normalize_base_url(preset["base_url"])
        provider = Provider(
            name=spec.name,
            kind=spec.kind or infer_kind(spec.name, base_url),
            base_url=base_url,
            models=spec.models or [],
            price_overrides=spec.prices or {},
            enabled=True if spec.enabled is None else spec.enabled,
            local_runtime=spec.local if spec.local is not None else preset_local(spec.name),
        )
        key = _resolve_key(spec, environ, result, provider.kind, provider.base_url)
        if key:
            provider.set_api_key(key)
        db.session.add(provider)
        result.created.append(path)
        return

    old_address = effective_address(provider.kind, provider.base_url)
    changed = False
    if spec.kind is not None:
        changed |= _assign(provider, "kind", spec.kind)
    if spec.has_base_url:
        changed |= _assign(provider, "base_url", base_url)
    if spec.models is not None:
        changed |= _assign(provider, "models", spec.models)
    if spec.prices is not None:
        changed |= _assign(provider, "price_overrides", spec.prices)
    if spec.enabled is not None:
        changed |= _assign(provider, "enabled", spec.enabled)
    if spec.local is not None:
        changed |= _assign(provider, "local_runtime", spec.local)
    moved = effective_address(provider.kind, provider.base_url) != old_address
    key = _resolve_key(spec, environ, result, provider.kind, provider.base_url)
    if key:
        try:
            current = provider.get_api_key()
        except KeyDecryptionError:
            current = None
        if current != key:
            provider.set_api_key(key)
            changed = True
    elif moved and provider.has_api_key:
        # A new address never receives the old key.
        provider.set_api_key(None)
        changed = True
        result.warnings.append(
            _(
                "%(path)s: the address changed, so the stored API key was removed. Enter it "
                "again in Settings → Providers.",
                path=path,
            )
        )
    (result.updated if changed else result.unchanged).append(path)


def _import_persona(
    name: str, prompt: str, existing: dict[str, Persona], result: ImportResult, owner_id: int
) -> None:
    path = f"personas.{name}"
    persona = existing.get(name.casefold())
    if persona is None:
        persona = existing[name.casefold()] = Persona(name=name, prompt=prompt, owner_id=owner_id)
        db.session.add(persona)
        result.created.append(path)
    elif _assign(persona, "prompt", prompt):
        result.updated.append(path)
    else:
        result.unchanged.append(path)


def _import_setting(
    name: str, key: str, value: Any, current: Any, result: ImportResult, owner_id: int
) -> None:
    path = f"settings.{name}"
    if value == current:
        result.unchanged.append(path)
    else:
        preferences.put_setting(key, value, user_id=owner_id)
        result.updated.append(path)


def import_config(
    text: str,
    environ: Mapping[str, str] | None = None,
    read_environment: bool = True,
    owner_id: int | None = None,
) -> ImportResult:
    """Create or update what ``text`` describes, all in one transaction.

    Raises :class:`ConfigImportError` (naming the field, and the line when known); nothing is
    changed then. ``environ`` defaults to :func:`config_environ`; ``read_environment=False``
    (a web import on a server) reads no variable at all.
    """
    extra = tuple(current_app.config.get("IMPORT_ENV", ()))
    parsed: ParsedConfig = parse_config(
        text,
        kinds=PROVIDER_KINDS,
        themes=tuple(THEMES),
        languages=_languages(),
        env_allowed=lambda name: env_reference_allowed(name, extra),
    )
    if not read_environment:
        environ = None
    elif environ is None:
        environ = config_environ()
    result = ImportResult()
    try:
        for spec in parsed.providers:
            _import_provider(spec, environ, result)
        # One query, not one per entry (each would also flush the rows added before it). Names
        # compare like the persona form's: casefold, which SQLite's lower() does not do.
        # The personas and preferences are the importing user's (providers the instance's).
        owner = owner_id if owner_id is not None else default_owner()
        mine = Persona.select_all().where(Persona.owner_id == owner)
        existing = {p.name.casefold(): p for p in db.session.scalars(mine)}
        for name, prompt in parsed.personas:
            _import_persona(name, prompt, existing, result, owner)
        if parsed.theme is not None:
            theme = preferences.user_value(owner, preferences.THEME_KEY)
            theme = theme if theme in THEMES else DEFAULT_THEME
            _import_setting("theme", preferences.THEME_KEY, parsed.theme, theme, result, owner)
        if parsed.has_language:
            language = preferences.user_value(owner, preferences.LANGUAGE_KEY) or None
            _import_setting(
                "language", preferences.LANGUAGE_KEY, parsed.language, language, result, owner
            )
        db.session.commit()
    except ConfigImportError:
        db.session.rollback()
        raise
    except SQLAlchemyError:
        db.session.rollback()
        raise ConfigImportError(
            _("The import could not be saved (a name was taken meanwhile?). Nothing changed.")
        ) from None
    return result


def _languages() -> tuple[str, ...]:
    return tuple(current_app.config.get("LANGUAGES", ("en",)))
