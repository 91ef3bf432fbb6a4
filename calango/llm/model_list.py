"""Reading a provider's model list, and refusing answers that are not its API."""

from __future__ import annotations

import json
from typing import Any

from calango.llm.clients import anthropic_client, check_kind, openai_client
from calango.llm.errors import NotAnApiError, map_exception, truncate
from calango.llm.providers import ProviderSettings

MAX_MODELS = 5000


def _model_ids(body: bytes) -> list[str]:
    """The ``id`` of every entry of a ``{"data": [...]}`` list; raises ``NotAnApiError`` for
    anything else (an HTML page, malformed JSON, another service's JSON)."""
    text = body.decode("utf-8", errors="replace")
    try:
        payload: Any = json.loads(text)
    except ValueError:
        raise NotAnApiError("the model list is not JSON", detail=truncate(text) or None) from None
    entries = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(entries, list):
        raise NotAnApiError("the model list has no data", detail=truncate(text) or None)
    ids = [e.get("id") for e in entries[:MAX_MODELS] if isinstance(e, dict)]
    return [i for i in ids if isinstance(i, str)]


def list_models(settings: ProviderSettings) -> list[str]:
    """The model ids the provider offers, sorted; raises ``ProviderError`` subclasses.

    The response is parsed here rather than by the SDK, so that a page that is not the
    provider's API gives ``NotAnApiError`` instead of whatever the SDK trips over."""
    check_kind(settings.kind)
    try:
        if settings.kind == "anthropic":
            raw: Any = anthropic_client(settings).models.with_raw_response.list(limit=1000)
        else:
            raw = openai_client(settings).models.with_raw_response.list()
        body = raw.http_response.read()
    except Exception as exc:
        raise map_exception(exc) from exc
    ids = _model_ids(body)
    if settings.kind == "gemini":
        ids = [i.removeprefix("models/") for i in ids]
    return sorted(set(ids))
