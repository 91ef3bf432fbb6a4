"""The original Calango's ``config`` table: providers with their models and API keys."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from calango.extensions import db
from calango.llm import PRESETS
from calango.models import Provider
from calango.services.config_io import infer_kind
from calango.services.imports import ImportSummary
from calango.services.imports.legacy_parse import documents, text_or_none
from calango.services.providers import find_by_name, is_http_url, normalize_models


def _preset(name: str) -> dict[str, Any] | None:
    lowered = name.lower()
    for key, preset in PRESETS.items():
        label = str(preset["label"]).lower()
        if lowered in (key, label, label.split(" (")[0]):
            return preset
    return None


def _models(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return normalize_models(m[:200] for m in value if isinstance(m, str))


def import_providers(data: dict[str, Any], summary: ImportSummary) -> None:
    """Create the providers the file lists (keys encrypted); an existing one of the same name
    keeps its settings and gains the models and key it lacks."""
    for doc_id, doc in documents(data, "config", summary.skipped):
        name = text_or_none(doc.get("name"), 80) if isinstance(doc, dict) else None
        if name is None:
            summary.skipped.append(_("config #%(id)s: a provider without a name.", id=doc_id))
            continue
        models = _models(doc.get("models"))
        key = text_or_none(doc.get("api_key"), 1000)
        if key is not None and key.startswith("$"):
            key = None  # an unresolved ${VAR}: the key is read from the environment
        provider = find_by_name(name)
        if provider is not None:
            added = [m for m in models if m not in provider.models]
            if added:
                provider.models = [*provider.models, *added]
            if key and not provider.has_api_key:
                provider.set_api_key(key)
            summary.present["providers"] += 1
            continue
        preset = _preset(name)
        base_url = text_or_none(doc.get("base_url"), 500)
        if base_url is not None and not is_http_url(base_url):
            summary.warnings.append(
                _("config #%(id)s: its address is not an http(s) URL and was left out.", id=doc_id)
            )
            base_url = None
        if base_url is None and preset is not None:
            base_url = preset["base_url"]
        provider = Provider(
            name=name,
            kind=str(preset["kind"]) if preset else infer_kind(name, base_url),
            base_url=base_url.rstrip("/") if base_url else None,
            models=models,
            price_overrides={},
            enabled=True,
        )
        if key:
            provider.set_api_key(key)
        db.session.add(provider)
        summary.imported["providers"] += 1
