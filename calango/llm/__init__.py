"""Provider adapters: (provider settings, model, messages) → a stream of events.

A pure library: it knows nothing about Flask or the database, so it can be tested against
the fake provider alone (tests/fakes/provider_server.py).
"""

from calango.llm.cancel import CancelToken
from calango.llm.content import ImagePart, image_tokens
from calango.llm.context import (
    context_budget,
    context_window,
    estimate_tokens,
    message_tokens,
    trim_to_budget,
    trimmed_tokens,
)
from calango.llm.errors import (
    AddressRefused,
    AuthError,
    BadRequestError,
    ConnectionLostError,
    NotAnApiError,
    NotFoundError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    RequestCancelled,
    ServerError,
)
from calango.llm.model_list import list_models
from calango.llm.params import EFFORTS, ChatParams, is_reasoning_model
from calango.llm.pricing import Price, compute_cost, find_price
from calango.llm.providers import (
    ENV_KEYS,
    PRESETS,
    PROVIDER_KINDS,
    ProviderSettings,
    env_key_names,
    is_local,
    key_source,
    official_family,
    provider_family,
    resolve_api_key,
)
from calango.llm.streaming import (
    ChatStream,
    Event,
    Finish,
    TextDelta,
    Usage,
    open_chat_stream,
    warm_up,
)
from calango.llm.vision import can_see_images

__all__ = [
    "EFFORTS",
    "ENV_KEYS",
    "PRESETS",
    "PROVIDER_KINDS",
    "AddressRefused",
    "AuthError",
    "BadRequestError",
    "CancelToken",
    "ChatParams",
    "ChatStream",
    "ConnectionLostError",
    "Event",
    "Finish",
    "ImagePart",
    "NotAnApiError",
    "NotFoundError",
    "Price",
    "ProviderError",
    "ProviderSettings",
    "ProviderTimeoutError",
    "RateLimitError",
    "RequestCancelled",
    "ServerError",
    "TextDelta",
    "Usage",
    "can_see_images",
    "compute_cost",
    "context_budget",
    "context_window",
    "env_key_names",
    "estimate_tokens",
    "find_price",
    "image_tokens",
    "is_local",
    "is_reasoning_model",
    "key_source",
    "list_models",
    "message_tokens",
    "official_family",
    "open_chat_stream",
    "provider_family",
    "resolve_api_key",
    "trim_to_budget",
    "trimmed_tokens",
    "warm_up",
]
