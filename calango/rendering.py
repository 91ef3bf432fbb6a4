"""Markdown for messages: markdown-it-py with Pygments highlighting, sanitized by nh3.

User and model text is untrusted. Raw HTML is disabled in the parser and the output is
sanitized anyway, so ``<img onerror>`` or ``javascript:`` links stay inert. Code blocks come
under a head naming their language (static/js/copy.js adds a Copy button there), tables in
a wrapper that scrolls sideways, bare URLs become links and links open in a new tab.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml as escape_html
from markdown_it.common.utils import unescapeAll
from markdown_it.token import Token
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

# Bump whenever the output changes (parser options, allowed tags, Pygments' classes...):
# messages stored with another version are rendered again on their next display
# (calango.services.message_html).
RENDER_VERSION = 2

_FORMATTER = HtmlFormatter(nowrap=True)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
# No <img>: remote images would leak the reader's address (and the CSP blocks them anyway).
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "div": {"class"},
    "pre": {"class"},
    "span": {"class"},
    "ol": {"start"},
}
# Links in answers open in a new tab (nh3 sets it on every link, replacing any given value).
LINK_ATTRIBUTES = {"a": {"target": "_blank"}}
# The renderer's own wrappers (Markdown cannot produce classes: raw HTML is off).
_OWN_CLASSES = {"code-block", "code-head", "code-lang", "table-wrap"}
# A fence's language label is shown; a longer info string is cut.
_LANG_LIMIT = 30
_LANGUAGE_CLASS = re.compile(r"language-[\w+#.-]{1,40}")


def _highlight(code: str, lang: str, attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(lang.strip()) if lang.strip() else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it escapes and wraps it itself
    return highlight(code, lexer, _FORMATTER)


def _fence(renderer: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    """A code block under a head naming its language (copy.js adds a Copy button there)."""
    token = tokens[idx]
    lang = (
        escape_html(unescapeAll(token.info).strip().split(maxsplit=1)[0][:_LANG_LIMIT])
        if (token.info.strip())
        else ""
    )
    head = f'<span class="code-lang">{lang}</span>' if lang else ""
    block = renderer._default_fence(tokens, idx, options, env)
    return f'<div class="code-block"><div class="code-head">{head}</div>{block}</div>\n'


def _table_open(renderer: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return '<div class="table-wrap">' + renderer.renderToken(tokens, idx, options, env)


def _table_close(renderer: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return renderer.renderToken(tokens, idx, options, env) + "</div>\n"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark", {"html": False, "highlight": _highlight, "breaks": True, "linkify": True}
    )
    md.enable(["table", "strikethrough", "linkify"])
    md.renderer._default_fence = md.renderer.rules["fence"]  # type: ignore[attr-defined]
    md.add_render_rule("fence", _fence)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    return md


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if attr == "class":
        # Only Pygments token classes and language-* markers.
        classes = [
            c
            for c in value.split()
            if c.isalnum() or _LANGUAGE_CLASS.fullmatch(c) or c in _OWN_CLASSES
        ]
        return " ".join(classes) or None
    return value


def render_markdown(text: str | None) -> Markup:
    """Render untrusted Markdown to safe HTML."""
    if not text:
        return Markup("")
    html = _parser().render(text)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values=LINK_ATTRIBUTES,
        strip_comments=True,
    )
    return Markup(clean)


def sanitizer_policy() -> dict[str, object]:
    """The allow-lists above, for the chat script's live rendering of an answer being
    written (static/js/chat-markdown.js): what it shows is sanitised by the same rules."""
    return {
        "tags": sorted(ALLOWED_TAGS),
        "attributes": {tag: sorted(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        "classes": sorted(_OWN_CLASSES),
        "schemes": ["http", "https", "mailto"],
        "rel": "noopener noreferrer nofollow",
        "linkAttributes": dict(LINK_ATTRIBUTES["a"]),
    }
