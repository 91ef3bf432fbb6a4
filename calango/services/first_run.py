"""First run: offer the providers this machine already has a key for, and a running Ollama.

:func:`first_run_offers` is called on ordinary page views (the chat page shows the offers when
nothing is configured), so it is cheap and changes nothing: one query, and at most one short
probe of Ollama, remembered for a few seconds.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from calango.encryption import KeyDecryptionError
from calango.extensions import db
from calango.llm import PRESETS, ProviderError
from calango.models import Provider
from calango.models.names import normalize_name
from calango.services.provider_errors import describe_provider_error
from calango.services.providers import ProviderInput, create_provider, fetch_models

OLLAMA_DEFAULT_URL = "http://localhost:11434"
OLLAMA_PROBE_TIMEOUT = 0.5
OLLAMA_CACHE_SECONDS = 10.0
ENV_PRESETS = ("openai", "anthropic", "gemini", "groq", "openrouter")

_probe_cache: dict[str, tuple[float, tuple[str, ...] | None]] = {}
_probe_lock = threading.Lock()


class OfferUnavailable(Exception):
    """The offer is gone: configured meanwhile, or its key or server disappeared."""


@dataclass(frozen=True)
class ProviderOffer:
    """A provider Calango can set up in one click."""

    preset: str  # key in calango.llm.PRESETS
    label: str
    kind: str
    base_url: str | None
    env_var: str | None = None  # where its key comes from (never stored)
    models: tuple[str, ...] = ()  # known without asking (Ollama's installed models)
    local: bool = False


@dataclass
class SetupResult:
    """The provider set up from an offer, and why its model list is empty when it is."""

    provider: Provider
    models_error: str | None = None


def preset_name(preset: dict[str, Any]) -> str:
    """The provider name a preset suggests: its label without a note like "(local)"."""
    return re.sub(r"\s*\(.*\)$", "", str(preset["label"])) or str(preset["label"])


def _clean(url: str | None) -> str:
    return (url or "").strip().rstrip("/").lower()


def _ollama_base(ollama_url: str) -> str:
    return ollama_url.rstrip("/") + "/v1"


def _probe_ollama(url: str) -> tuple[str, ...] | None:
    """Installed model names when an Ollama server answers at ``url``, else ``None``."""
    now = time.monotonic()
    with _probe_lock:
        cached = _probe_cache.get(url)
        if cached and now - cached[0] < OLLAMA_CACHE_SECONDS:
            return cached[1]
    result: tuple[str, ...] | None = None
    # No proxies: the server is local, and a proxy would answer for it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url.rstrip("/") + "/api/tags", timeout=OLLAMA_PROBE_TIMEOUT) as resp:
            payload: Any = json.loads(resp.read(1_000_000) or b"{}")
        entries = payload.get("models") if isinstance(payload, dict) else None
        if isinstance(entries, list):
            names = [e.get("name") for e in entries if isinstance(e, dict)]
            result = tuple(n.strip() for n in names if isinstance(n, str) and n.strip())
    except (OSError, ValueError):
        result = None
    with _probe_lock:
        _probe_cache[url] = (time.monotonic(), result)
    return result


def _configured(
    names: set[str], urls: set[str], key: str, preset: dict[str, Any], base: str | None
) -> bool:
    candidates = {key, str(preset["label"]), preset_name(preset)}
    if {normalize_name(name) for name in candidates} & names:
        return True
    return bool(base) and _clean(base) in urls


def first_run_offers(
    environ: Mapping[str, str] | None = None, probe_ollama: bool = True
) -> list[ProviderOffer]:
    """Providers that could be set up right now and are not configured yet.

    One per hosted provider whose API key variable is set (OPENAI_API_KEY, ...), and one for
    Ollama when a server answers at ``OLLAMA_URL``. Never raises on network errors.
    """
    environ = os.environ if environ is None else environ
    rows = db.session.execute(select(Provider.name, Provider.base_url)).all()
    names = {normalize_name(name) for name, _url in rows}
    urls = {_clean(url) for _name, url in rows if url}
    offers: list[ProviderOffer] = []
    for key in ENV_PRESETS:
        preset = PRESETS.get(key)
        if not preset:
            continue
        env_var = next((v for v in preset.get("env", ()) if environ.get(v)), None)
        if env_var and not _configured(names, urls, key, preset, preset["base_url"]):
            offers.append(
                ProviderOffer(key, preset_name(preset), preset["kind"], preset["base_url"], env_var)
            )
    if probe_ollama and "ollama" in PRESETS:
        preset = PRESETS["ollama"]
        ollama_url = current_app.config.get("OLLAMA_URL") or OLLAMA_DEFAULT_URL
        base = _ollama_base(ollama_url)
        if not _configured(names, urls, "ollama", preset, base):
            models = _probe_ollama(ollama_url)
            if models is not None:
                offers.append(
                    ProviderOffer(
                        "ollama", preset_name(preset), preset["kind"], base, None, models, True
                    )
                )
    return offers


def setup_from_offer(preset: str) -> SetupResult:
    """Create the provider a current offer describes.

    Keys from the environment are not stored (they are read when used). Ollama gets its
    installed models; other providers are asked for theirs, and a failure leaves the list
    empty with the reason in ``models_error``. Raises :class:`OfferUnavailable`.
    """
    offer = next((o for o in first_run_offers() if o.preset == preset), None)
    if offer is None:
        raise OfferUnavailable(preset)
    provider = create_provider(
        ProviderInput(
            name=offer.label,
            kind=offer.kind,
            base_url=offer.base_url,
            models=list(offer.models),
            local_runtime=offer.local,
        )
    )
    result = SetupResult(provider)
    if not offer.models and not offer.local:
        try:
            fetch_models(provider)
        except (ProviderError, KeyDecryptionError) as exc:
            db.session.rollback()
            result.models_error = describe_provider_error(exc, provider.name)
    return result
