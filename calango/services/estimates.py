"""The composer's live estimate: this turn's input tokens and cost, and the chat's cap.

Asked for as one types (the script waits 400 ms and aborts the previous request), so it is
cheap: the provider, the persona and the settings in one statement (the send's lookup), and
for an existing chat the branch's token counts computed in SQL (the texts stay in the
database) and, when capped, the chat's spend. No provider is called, no key is decrypted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from calango.llm import image_tokens
from calango.models import ChatSession
from calango.services import branches, parameters, spend_cap
from calango.services.chat import _lookup, price_of
from calango.services.composer import split_model_value
from calango.services.file_intake import MAX_IMAGE_SIDE
from calango.services.profile import block_for


def estimate_turn(
    chat: ChatSession | None,
    text: str,
    provider_name: str,
    model_value: str,
    persona_name: str,
    options: parameters.SendOptions,
    extra_tokens: int = 0,
) -> spend_cap.Estimate | None:
    """The estimate of sending ``text`` in ``chat`` (None: a new chat) with these choices;
    None when the provider or model picked is not offered (the send will say why).
    ``extra_tokens``: the files about to be attached (:func:`pending_tokens`)."""
    found = _lookup(provider_name, persona_name)
    provider = found.provider
    _provider_id, model = split_model_value(model_value)
    if provider is None or model not in provider.models:
        return None
    persona = found.persona if persona_name else None
    history: list[tuple[str, int]] = []
    if chat is not None:
        start = branches.leaf_expression(chat.id, chat.leaf_id)
        history = branches.branch_token_sizes(chat.id, start)
    system = (persona.prompt if persona is not None else None, block_for(chat, options.profile))
    text = text.replace("\r\n", "\n")
    tokens = spend_cap.turn_tokens(model, system, history, text, extra_tokens=extra_tokens)
    try:
        typed = spend_cap.parse_cap(options.spend_cap) if options.spend_cap is not None else None
    except spend_cap.InvalidCap:
        typed = None
    own = typed if options.spend_cap is not None else (chat.spend_cap_usd if chat else None)
    cap = spend_cap.cap_for(own)
    spent = spend_cap.chat_spend(chat.id) if cap is not None and chat is not None else None
    return spend_cap.Estimate(tokens, price_of(provider, model), cap, spent or Decimal(0))


def pending_tokens(chars: int, images: Sequence[tuple[int, int]]) -> int:
    """The tokens of files the composer is about to send, from what its script says of them
    (they are never uploaded for an estimate): ``chars`` characters of text, and pictures by
    their size in pixels (scaled as the server will scale them; 0×0: not measured yet)."""
    total = math.ceil(max(0, chars) / 4)
    for width, height in images:
        longest = max(width, height)
        if longest > MAX_IMAGE_SIDE:
            width, height = (round(width * MAX_IMAGE_SIDE / longest),
                             round(height * MAX_IMAGE_SIDE / longest))  # fmt: skip
        total += image_tokens(width, height)
    return total
