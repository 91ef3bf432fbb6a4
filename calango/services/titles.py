"""Chat titles: a clean summary of the first message (Markdown stripped, whitespace
collapsed, at most TITLE_LENGTH characters cut at a word boundary)."""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

TITLE_LENGTH = 60
# Only the start of a long message can end up in a title: parse no more than this.
READ_AT_MOST = 2000


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False})


def _words(tokens: list[Token]) -> list[str]:
    words: list[str] = []
    for token in tokens:
        if token.type in ("text", "code_inline", "fence", "code_block", "image"):
            words.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            words.append(" ")
        if token.children and token.type != "image":
            words.extend(_words(token.children))
        if token.type.endswith("_close") and token.block:
            words.append(" ")
    return words


def plain_text(text: str) -> str:
    """The words of a Markdown text: no markup, whitespace collapsed to single spaces."""
    text = text[:READ_AT_MOST]
    plain = " ".join("".join(_words(_parser().parse(text))).split())
    return plain or " ".join(text.split())


def clean_title(text: str, limit: int = TITLE_LENGTH) -> str:
    """A title from a message: its plain text, cut at a word boundary to ``limit``
    characters (an ellipsis included) when longer."""
    plain = plain_text(text)
    if len(plain) <= limit:
        return plain
    head = plain[: limit - 1]
    if " " in head and plain[limit - 1] != " ":
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,.;:-–—") + "…"
