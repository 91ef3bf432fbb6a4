"""Markdown for messages: markdown-it-py with Pygments highlighting, sanitized by nh3.

User and model text is untrusted. Raw HTML is disabled in the parser and the output is
sanitized anyway, so ``<img onerror>`` or ``javascript:`` links stay inert.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

# Bump whenever the output changes (parser options, allowed tags, Pygments' classes...):
# messages stored with another version are rendered again on their next display
# (calango.services.message_html).
RENDER_VERSION = 1

_FORMATTER = HtmlFormatter(nowrap=True)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
# No <img>: remote images would leak the reader's address (and the CSP blocks them anyway).
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "pre": {"class"},
    "span": {"class"},
    "ol": {"start"},
}


def _highlight(code: str, lang: str, attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(lang.strip()) if lang.strip() else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it escapes and wraps it itself
    return highlight(code, lexer, _FORMATTER)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "highlight": _highlight, "breaks": True})
    return md.enable(["table", "strikethrough"])


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if attr == "class":
        # Only Pygments token classes and language-* markers.
        classes = [c for c in value.split() if c.isalnum() or c.startswith("language-")]
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
        strip_comments=True,
    )
    return Markup(clean)


def sanitizer_policy() -> dict[str, object]:
    """The allow-lists above, for the chat script's live rendering of an answer being
    written (static/js/chat-markdown.js): what it shows is sanitised by the same rules."""
    return {
        "tags": sorted(ALLOWED_TAGS),
        "attributes": {tag: sorted(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        "schemes": ["http", "https", "mailto"],
        "rel": "noopener noreferrer nofollow",
    }
