"""Read the composer of a chat page as a browser would (stdlib parser, no extra dependency)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Option:
    value: str
    text: str
    group: str | None
    selected: bool


@dataclass
class Select:
    name: str
    options: list[Option] = field(default_factory=list)

    @property
    def marked(self) -> list[Option]:
        """Options carrying the ``selected`` attribute."""
        return [o for o in self.options if o.selected]

    @property
    def value(self) -> Option | None:
        """The option a browser shows: the last one marked selected, else the first."""
        marked = self.marked
        return marked[-1] if marked else (self.options[0] if self.options else None)


class _ComposerParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.in_composer = False
        self.selects: dict[str, Select] = {}
        self.hidden: dict[str, str] = {}
        self._select: Select | None = None
        self._group: str | None = None
        self._option: Option | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("id") == "composer":
            self.in_composer = True
        if not self.in_composer:
            return
        if tag == "select":
            self._select = Select(a.get("name") or "")
            self.selects[self._select.name] = self._select
        elif tag == "optgroup":
            self._group = a.get("label")
        elif tag == "option" and self._select is not None:
            self._option = Option(a.get("value") or "", "", self._group, "selected" in a)
            self._select.options.append(self._option)
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a.get("name") or ""] = a.get("value") or ""

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option":
            self._option = None
        elif tag == "optgroup":
            self._group = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self.in_composer = False


def composer(page: str) -> _ComposerParser:
    """The composer's selects and hidden inputs."""
    parser = _ComposerParser()
    parser.feed(page)
    return parser


def form_data(page: str, content: str) -> dict[str, str]:
    """What submitting the composer without JavaScript posts."""
    parsed = composer(page)
    data = dict(parsed.hidden)
    for name, select in parsed.selects.items():
        chosen = select.value
        data[name] = chosen.value if chosen else ""
    data["content"] = content
    return data
