"""Reading an untrusted YAML configuration within fixed bounds of time and memory.

A configuration is a few providers and personas. Anything shaped otherwise is refused before
it can cost much: the size is checked before parsing; anchors and aliases (the "billion
laughs" expansion) are refused, and nesting depth and the number of values are capped while
reading the event stream, before any node tree is built; duplicate keys, which YAML would
silently collapse to the last one, are an error naming their line.
"""

from __future__ import annotations

from typing import Any

import yaml
from flask_babel import gettext as _

from calango.services.config_errors import ConfigImportError, Path

MAX_CONFIG_BYTES = 1024 * 1024  # 1 MiB: hundreds of providers and long personas fit
MAX_DEPTH = 16  # the format needs 5 (providers → name → prices → model → input)
MAX_NODES = 10_000  # values in the whole file (scalars, lists and mappings)

# libyaml's parser is ~20 times faster than the pure-Python one; both give the same events.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _located(message: str, mark: Any) -> ConfigImportError:
    line = mark.line + 1 if mark is not None else None
    if line is not None:
        message = _("%(message)s (line %(line)d)", message=message, line=line)
    return ConfigImportError(message, line=line)


def check_size(size: int) -> None:
    """Refuse a file of ``size`` bytes before reading or parsing it."""
    if size > MAX_CONFIG_BYTES:
        raise ConfigImportError(
            _(
                "The file is too large (%(size)d KiB): a configuration is at most %(max)d KiB.",
                size=size // 1024,
                max=MAX_CONFIG_BYTES // 1024,
            )
        )


def _check_events(text: str) -> None:
    """Walk the event stream once: no anchors or aliases, bounded depth and size."""
    loader = _Loader(text)
    depth = nodes = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                raise _located(
                    _(
                        "The file uses an alias (*%(name)s); anchors and aliases are not "
                        "accepted, write the value out.",
                        name=event.anchor,
                    ),
                    event.start_mark,
                )
            if isinstance(event, yaml.NodeEvent) and event.anchor is not None:
                raise _located(
                    _(
                        "The file uses an anchor (&%(name)s); anchors and aliases are not "
                        "accepted, write the value out.",
                        name=event.anchor,
                    ),
                    event.start_mark,
                )
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise _located(
                        _(
                            "The file has more than %(max)d values; a configuration is much "
                            "smaller.",
                            max=MAX_NODES,
                        ),
                        event.start_mark,
                    )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _located(_depth_message(), event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        # libyaml (bundled with PyYAML ≥ 6.0.3) refuses deep nesting on its own while it looks
        # ahead, before our count sees the events: it is the same refusal, said our way.
        if "nesting depth" not in str(exc.problem):
            raise
        raise _located(_depth_message(), exc.problem_mark) from None
    finally:
        loader.dispose()


def _depth_message() -> str:
    return _(
        "The file is nested more than %(max)d levels deep; a configuration needs far fewer.",
        max=MAX_DEPTH,
    )


def _key_text(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "…"


def index_lines(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    """Record the line of every value; refuse a key that appears twice in one mapping.

    Recursion is safe: the depth was capped by :func:`_check_events`.
    """
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                # Keys compare as YAML would construct them: "1" and 1 are different keys.
                ident = (key.tag, str(key.value).strip())
                if ident in seen:
                    raise ConfigImportError(
                        _(
                            "The key “%(key)s” appears twice in the same mapping (line %(line)d, "
                            "first on line %(first)d); keep one.",
                            key=_key_text(key),
                            line=key.start_mark.line + 1,
                            first=seen[ident],
                        ),
                        line=key.start_mark.line + 1,
                    )
                seen[ident] = key.start_mark.line + 1
            index_lines(value, (*path, _key_text(key)), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            index_lines(value, (*path, i), lines)


def _syntax_error(exc: yaml.YAMLError, text: str) -> ConfigImportError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or str(exc)
        if mark is not None:
            line, column = mark.line + 1, mark.column + 1
            last_line = text.count("\n") + 1
            if line > last_line:  # libyaml places "end of file" after a last unended line
                line, column = last_line, len(text.rsplit("\n", 1)[-1]) + 1
            return ConfigImportError(
                _(
                    "The file is not valid YAML: %(problem)s (line %(line)d, column %(column)d).",
                    problem=problem,
                    line=line,
                    column=column,
                ),
                line=line,
            )
        return ConfigImportError(_("The file is not valid YAML: %(problem)s.", problem=problem))
    return ConfigImportError(_("The file is not valid YAML: %(problem)s.", problem=exc))


def load_yaml(text: str) -> tuple[Any, dict[Path, int]]:
    """The document and the line of every value in it, or a ConfigImportError with the line."""
    if len(text) > MAX_CONFIG_BYTES:  # characters never outnumber bytes
        check_size(len(text))
    check_size(len(text.encode("utf-8", "surrogatepass")))
    try:
        _check_events(text)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            lines: dict[Path, int] = {}
            if node is None:
                return None, lines
            index_lines(node, (), lines)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # e.g. an integer of 5,000 digits (Python refuses to convert it)
        raise ConfigImportError(
            _("The file has a value that cannot be read: %(problem)s.", problem=exc)
        ) from None
    return data, lines
