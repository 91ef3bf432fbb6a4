"""Writing the configuration ("DNA" file) back out as YAML; see ``config_io`` for the format.

API keys are written as ``${NAME_API_KEY}`` placeholders unless the caller asks for secrets
(the CLI always may; the web page only where ``SECRETS_OVER_HTTP`` allows it).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from flask_babel import gettext as _

from calango.encryption import KeyDecryptionError
from calango.extensions import db
from calango.llm import ENV_KEYS, PRESETS, env_key_names
from calango.models import Persona, Provider
from calango.services import preferences
from calango.services.imports.owner import default_owner
from calango.themes import DEFAULT_THEME, THEMES


class ConfigExportError(Exception):
    """The configuration cannot be exported (a stored key cannot be decrypted)."""


class _Dumper(yaml.SafeDumper):
    """Multi-line text (persona prompts) as readable ``|`` blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def key_placeholder(provider: Provider) -> str:
    """``${VAR}`` for the variable this provider reads its key from (``NAME_API_KEY`` if none).

    A custom endpoint never gets a vendor's variable, even when named after the vendor: the
    file must not send $OPENAI_API_KEY to a server that merely calls itself "OpenAI".
    """
    names = env_key_names(provider.kind, provider.base_url)
    if names:
        return "${" + names[0] + "}"
    var = re.sub(r"[^A-Z0-9]", "_", provider.name.upper()) + "_API_KEY"
    if any(var in vendor for vendor in ENV_KEYS.values()):
        var = "CUSTOM_" + var
    return "${" + var + "}"


def _provider_entry(provider: Provider, with_secrets: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": provider.kind}
    if provider.has_api_key:
        if with_secrets:
            try:
                entry["api_key"] = provider.get_api_key()
            except KeyDecryptionError as exc:
                raise ConfigExportError(
                    _("%(name)s: %(error)s", name=provider.name, error=str(exc))
                ) from None
        else:
            entry["api_key"] = key_placeholder(provider)
    elif env_key_names(provider.kind, provider.base_url):
        entry["api_key"] = key_placeholder(provider)
    if provider.base_url:
        entry["base_url"] = provider.base_url
    entry["models"] = list(provider.models or [])
    if provider.price_overrides:
        entry["prices"] = dict(provider.price_overrides)
    if not provider.enabled:
        entry["enabled"] = False
    if provider.local_runtime != preset_local(provider.name):
        entry["local"] = provider.local_runtime
    return entry


def preset_local(name: str) -> bool:
    """Whether a provider called ``name`` is a local runtime when a config file does not say:
    the preset of that name's (``ollama``, "LM Studio (local)"...), else not."""
    lowered = name.lower()
    for key, preset in PRESETS.items():
        if lowered in (key, str(preset["label"]).lower()):
            return bool(preset["local"])
    return False


def export_config(with_secrets: bool = False, owner_id: int | None = None) -> str:
    """The whole configuration as YAML; API keys as ``${VAR}`` unless ``with_secrets``.

    Raises :class:`ConfigExportError` when a key is needed and cannot be decrypted.
    """
    providers = {
        p.name: _provider_entry(p, with_secrets) for p in db.session.scalars(Provider.select_all())
    }
    # The personas and preferences of ``owner_id`` (default: the current user).
    owner = owner_id if owner_id is not None else default_owner()
    mine = Persona.select_all().where(Persona.owner_id == owner)
    personas = [{"name": p.name, "prompt": p.prompt} for p in db.session.scalars(mine)]
    theme = preferences.user_value(owner, preferences.THEME_KEY)
    data = {
        "providers": providers,
        "personas": personas,
        "settings": {
            "theme": theme if theme in THEMES else DEFAULT_THEME,
            "language": preferences.user_value(owner, preferences.LANGUAGE_KEY) or None,
        },
    }
    header = "# Calango configuration. Import it with `flask calango import-config FILE`.\n"
    if with_secrets:
        header += "# It contains API keys in clear text: keep it private.\n"
    return header + yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
