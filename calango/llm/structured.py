"""One non-streamed request for a structured answer (a JSON object matching a schema).

Each protocol is asked in its own strongest way: OpenAI-compatible servers get
``response_format: json_schema`` (and, when they refuse that field, the same request with the
schema only in the instructions); Anthropic gets a tool whose ``input_schema`` is the schema,
and must call it. Whatever comes back, a JSON object is also looked for in plain text (a
fenced block or the outermost braces). Validating the object is the caller's job.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from calango.llm.clients import anthropic_client, check_kind, openai_client
from calango.llm.context import estimate_tokens
from calango.llm.errors import BadRequestError, map_exception
from calango.llm.params import ChatParams, openai_fields
from calango.llm.providers import ProviderSettings, provider_family
from calango.llm.streaming import Usage

MAX_OUTPUT_TOKENS = 2048
_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)


@dataclass(frozen=True, slots=True)
class StructuredAnswer:
    """The object found (``None`` when none was), the raw text, usage, and how it was asked
    (``"json_schema"``, ``"instructions"`` or ``"tool"``)."""

    data: Any
    text: str
    usage: Usage
    mode: str


def find_json_object(text: str) -> Any:
    """The JSON object in ``text``: all of it, a fenced block, or the outermost braces."""
    candidates = [text.strip()]
    candidates += _FENCE.findall(text)
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _instructions(system: str, schema: dict[str, Any]) -> str:
    return (
        f"{system}\n\nAnswer with only one JSON object, no other text, matching this JSON "
        f"schema:\n{json.dumps(schema, ensure_ascii=False)}"
    )


def complete_json(
    settings: ProviderSettings,
    model: str,
    system: str,
    user: str,
    schema: dict[str, Any],
    name: str,
) -> StructuredAnswer:
    """Ask ``model`` for an object matching ``schema``; raises ``ProviderError`` subclasses."""
    check_kind(settings.kind)
    try:
        if settings.kind == "anthropic":
            return _anthropic(settings, model, system, user, schema, name)
        try:
            return _openai(settings, model, system, user, schema, name, strict=True)
        except BadRequestError:
            # A compatible server that does not know response_format: instructions only.
            return _openai(settings, model, system, user, schema, name, strict=False)
    except Exception as exc:
        raise map_exception(exc) from exc


def _usage(prompt: int | None, completion: int | None, system: str, user: str, text: str) -> Usage:
    return Usage(
        prompt if prompt is not None else estimate_tokens(system) + estimate_tokens(user),
        completion if completion is not None else estimate_tokens(text),
        estimated=prompt is None or completion is None,
    )


def _openai(
    settings: ProviderSettings,
    model: str,
    system: str,
    user: str,
    schema: dict[str, Any],
    name: str,
    strict: bool,
) -> StructuredAnswer:
    client = openai_client(settings, max_retries=0)
    official = provider_family(settings.name, settings.kind, settings.base_url) == "openai"
    extra = openai_fields(ChatParams(max_tokens=MAX_OUTPUT_TOKENS), model, official)
    if strict:
        extra["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True},
        }
    try:
        response = client.chat.completions.create(
            model=model,
            messages=[
                {"role": "system", "content": _instructions(system, schema)},
                {"role": "user", "content": user},
            ],
            **extra,
        )
    except Exception as exc:
        raise map_exception(exc) from exc
    text = ""
    if response.choices:
        text = response.choices[0].message.content or ""
    usage = response.usage
    return StructuredAnswer(
        data=find_json_object(text),
        text=text,
        usage=_usage(
            usage.prompt_tokens if usage else None,
            usage.completion_tokens if usage else None,
            system,
            user,
            text,
        ),
        mode="json_schema" if strict else "instructions",
    )


def _anthropic(
    settings: ProviderSettings,
    model: str,
    system: str,
    user: str,
    schema: dict[str, Any],
    name: str,
) -> StructuredAnswer:
    client = anthropic_client(settings, max_retries=0)
    response = client.messages.create(
        model=model,
        max_tokens=MAX_OUTPUT_TOKENS,
        system=_instructions(system, schema),
        messages=[{"role": "user", "content": user}],
        tools=[{"name": name, "description": "Propose the answer.", "input_schema": schema}],
        tool_choice={"type": "tool", "name": name},
    )
    data: Any = None
    texts: list[str] = []
    for block in response.content:
        if block.type == "tool_use" and block.name == name:
            data = block.input
        elif block.type == "text":
            texts.append(block.text)
    text = "".join(texts) if data is None else json.dumps(data, ensure_ascii=False)
    if data is None:
        data = find_json_object(text)
    usage = response.usage
    return StructuredAnswer(
        data=data if isinstance(data, dict) else None,
        text=text,
        usage=_usage(usage.input_tokens, usage.output_tokens, system, user, text),
        mode="tool",
    )
