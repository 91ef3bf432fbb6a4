"""Message Markdown: code blocks with a language head, bare links, new-tab links, wide tables,
and hostile input that must stay inert."""

from __future__ import annotations

import re

import pytest

from calango.rendering import render_markdown


def links(html: str) -> list[str]:
    return re.findall(r"<a [^>]*>", html)


def test_a_code_block_comes_under_a_head_naming_its_language() -> None:
    html = str(render_markdown("```python\ndef f():\n    pass\n```\n\n```\nplain\n```"))
    blocks = html.split('<div class="code-block">')[1:]
    assert len(blocks) == 2
    assert '<div class="code-head"><span class="code-lang">python</span></div>' in blocks[0]
    assert '<span class="k">def</span>' in blocks[0]  # still highlighted
    assert '<div class="code-head"></div><pre><code>plain' in blocks[1]  # no label, still a head


def test_only_the_first_word_of_a_long_info_string_is_the_label() -> None:
    html = str(render_markdown("```js title=app.js and more words\nx\n```"))
    assert '<span class="code-lang">js</span>' in html
    assert "title=app.js" not in html


def test_bare_urls_become_links_that_open_in_a_new_tab() -> None:
    html = str(render_markdown("See https://example.com/docs?a=1 and www.python.org today."))
    found = links(html)
    assert len(found) == 2
    assert 'href="https://example.com/docs?a=1"' in found[0]
    assert 'href="http://www.python.org"' in found[1]
    for link in found + links(str(render_markdown("[named](https://x.org)"))):
        assert 'target="_blank"' in link
        assert 'rel="noopener noreferrer nofollow"' in link


def test_a_wide_table_sits_in_a_wrapper_that_scrolls() -> None:
    html = str(render_markdown("| a | b |\n|---|---|\n| 1 | 2 |"))
    assert re.search(r'<div class="table-wrap"><table>.*</table>\s*</div>', html, re.S)


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "<javascript:alert(1)>",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](vbscript:msgbox(1))",
        "javascript:alert(1)",
    ],
)
def test_script_urls_never_become_links(text: str) -> None:
    html = str(render_markdown(text)).lower()
    assert 'href="javascript' not in html
    assert 'href="data:' not in html
    assert 'href="vbscript' not in html


def test_target_and_rel_cannot_be_injected() -> None:
    hostile = (
        '<a href="https://evil.example" target="_self" rel="opener">raw</a> '
        '[t](https://x.org "t\\" target=\\"_self")\n\n'
        '```"><img src=x onerror=alert(1)>\ncode\n```'
    )
    html = str(render_markdown(hostile))
    assert "<img" not in html  # shown as text (&lt;img), never a tag
    found = links(html)
    assert len(found) == 2
    for link in found:
        attributes = re.findall(r'\s([a-z-]+)="', link)
        assert sorted(attributes) == sorted(
            {"href", "target", "rel"} | ({"title"} & set(attributes))
        )
        assert 'target="_blank"' in link and 'rel="noopener noreferrer nofollow"' in link
    # A hostile fence label is text, and never a class beyond a plain language name.
    assert 'class="language-&quot;' not in html and 'language-"' not in html


def test_classes_are_only_ours_or_pygments() -> None:
    html = str(render_markdown("```python\nx = 1\n```\n\n| a |\n|---|\n| b |"))
    for value in re.findall(r'class="([^"]*)"', html):
        for name in value.split():
            assert (
                name.isalnum()
                or name.startswith("language-")
                or name
                in {
                    "code-block",
                    "code-head",
                    "code-lang",
                    "table-wrap",
                }
            )
