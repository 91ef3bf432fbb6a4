"""The composer's live estimate: this turn's input tokens and cost, and the chat's cap.

Asked for as one types (the script waits 400 ms and aborts the previous request), so it is
cheap: the provider, the persona and the settings in one statement (the send's lookup), and
for an existing chat the branch's token counts computed in SQL (the texts stay in the
database) and, when capped, the chat's spend. No provider is called, no key is decrypted.
"""

from __future__ import annotations

from decimal import Decimal

from calango.models import ChatSession
from calango.services import branches, parameters, spend_cap
from calango.services.chat import _lookup, price_of
from calango.services.composer import split_model_value
from calango.services.profile import block_for


def estimate_turn(
    chat: ChatSession | None,
    text: str,
    provider_name: str,
    model_value: str,
    persona_name: str,
    options: parameters.SendOptions,
    extra_text: str = "",
) -> spend_cap.Estimate | None:
    """The estimate of sending ``text`` in ``chat`` (None: a new chat) with these choices;
    None when the provider or model picked is not offered (the send will say why).
    ``extra_text``: what joins the message besides the typed text (attached files)."""
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
    tokens = spend_cap.turn_tokens(model, system, history, text, extra_text=extra_text)
    try:
        typed = spend_cap.parse_cap(options.spend_cap) if options.spend_cap is not None else None
    except spend_cap.InvalidCap:
        typed = None
    own = typed if options.spend_cap is not None else (chat.spend_cap_usd if chat else None)
    cap = spend_cap.cap_for(own)
    spent = spend_cap.chat_spend(chat.id) if cap is not None and chat is not None else None
    return spend_cap.Estimate(tokens, price_of(provider, model), cap, spent or Decimal(0))
