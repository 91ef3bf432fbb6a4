"""Search: ranking, snippets, accents, phrases, filters, and queries that try to break it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calango.models.types import utcnow
from calango.services import search as search_service
from tests.search.conftest import AddChat


def found(app: Flask, query: str, **filters: Any) -> search_service.SearchResults:
    with app.test_request_context():
        return search_service.search(query, **filters)


def texts(results: search_service.SearchResults) -> list[str]:
    return ["".join(piece for piece, _ in hit.snippet) for hit in results.messages]


def test_best_match_first_and_snippet_marks_the_words(app: Flask, add_chat: AddChat) -> None:
    add_chat("Zoo", ["a capybara once", "nothing here", "capybara capybara capybara facts"])
    add_chat("Other", ["unrelated text about cats"])
    results = found(app, "capybara")
    assert len(results.messages) == 2
    best = results.messages[0]
    assert "capybara capybara capybara" in "".join(p for p, _ in best.snippet)
    assert [p for p, hit in best.snippet if hit] == ["capybara"] * 3
    assert best.chat_title == "Zoo"


def test_accents_and_case_are_ignored_both_ways(app: Flask, add_chat: AddChat) -> None:
    add_chat("Direito", ["Como funciona a AÇÃO de despejo?"])
    add_chat("Plain", ["the acao word without accents"])
    assert len(found(app, "acao").messages) == 2
    assert len(found(app, "Ação").messages) == 2
    marked = [p for p, hit in found(app, "acao despejo").messages[0].snippet if hit]
    assert marked == ["AÇÃO", "despejo"]  # the original text is shown, accents and all


def test_all_words_must_appear_and_quotes_make_a_phrase(app: Flask, add_chat: AddChat) -> None:
    add_chat("A", ["red fox jumps"])
    add_chat("B", ["the fox is red"])
    assert len(found(app, "fox red").messages) == 2
    assert texts(found(app, '"red fox"')) == ["red fox jumps"]
    assert found(app, "fox zebra").messages == []


def test_titles_are_searched_too(app: Flask, add_chat: AddChat) -> None:
    add_chat("Receita de pão de queijo", ["hello"])
    results = found(app, "pao")
    assert results.messages == []
    assert [[p for p, hit in t.title if hit] for t in results.titles] == [["pão"]]


def test_filters_persona_model_and_dates(app: Flask, add_chat: AddChat) -> None:
    now = utcnow()
    add_chat("old", ["ocelot question", "ocelot answer"], when=now - timedelta(days=40))
    add_chat("new", ["ocelot question", "ocelot answer"], when=now, persona="Python Expert")
    assert len(found(app, "ocelot").messages) == 4
    assert len(found(app, "ocelot", persona="Python Expert").messages) == 2
    answers = found(app, "ocelot", model="fake-model").messages
    assert [h.role for h in answers] == ["assistant", "assistant"]
    recent = found(app, "ocelot", start=(now - timedelta(days=2)).date())
    assert {h.chat_title for h in recent.messages} == {"new"}
    older = found(app, "ocelot", end=(now - timedelta(days=30)).date())
    assert {h.chat_title for h in older.messages} == {"old"}


def test_results_page_links_to_the_message_and_escapes_the_snippet(
    app: Flask, client: FlaskClient, add_chat: AddChat
) -> None:
    chat_id = add_chat("XSS", ['look <script>alert("x")</script> pangolin <b>bold</b>'])
    page = client.get("/chats/search?q=pangolin").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;" in page
    assert "<mark>pangolin</mark>" in page
    link = re.search(r'href="(/chats/[0-9a-f-]+\?at=(\d+)#m-(\d+))"', page)
    assert link and link.group(2) == link.group(3)
    assert str(chat_id) in link.group(1)


def test_results_page_pages_through_many_matches(
    app: Flask, client: FlaskClient, add_chat: AddChat
) -> None:
    add_chat("Many", [f"numbat number {i}" for i in range(45)])
    first = client.get("/chats/search?q=numbat").get_data(as_text=True)
    assert first.count('class="search-hit"') == 20
    more = re.search(r'href="([^"]*page=2[^"]*)" rel="next"', first)
    assert more
    second = client.get(more.group(1).replace("&amp;", "&")).get_data(as_text=True)
    third = client.get("/chats/search?q=numbat&page=3").get_data(as_text=True)
    assert second.count('class="search-hit"') == 20 and third.count('class="search-hit"') == 5
    ids = re.findall(r"at=(\d+)#", first + second + third)
    assert len(ids) == len(set(ids)) == 45


HOSTILE = [
    '"',
    '"unbalanced phrase',
    "((( AND OR NOT",
    "*",
    "-",
    "- -x -",
    "NEAR(a b, 3)",
    "content: title:",
    "a\x00b",
    "\x00",
    "^ ~ : ' ; --",
    "' OR 1=1 --",
    "the a o e de",  # only stop-words in some language
    "x" * 10_000,
    "palavra " * 2_000,
    "\ue000\ue001",
    "🦎🦎",
    "_ __ ___",
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_fail(
    app: Flask, client: FlaskClient, add_chat: AddChat, query: str
) -> None:
    add_chat("Target", ["the a o e de palavra content title near"])
    response = client.get("/chats/search", query_string={"q": query})
    assert response.status_code == 200
    assert "Search" in response.get_data(as_text=True)


def test_long_query_is_cut_and_says_so(app: Flask, client: FlaskClient) -> None:
    words = " ".join(f"w{i}" for i in range(40))
    page = client.get("/chats/search", query_string={"q": words}).get_data(as_text=True)
    assert "only its first 12 words were used" in page


def test_bad_filters_are_dropped_and_explained(
    app: Flask, client: FlaskClient, add_chat: AddChat
) -> None:
    add_chat("Zoo", ["tapir facts"])
    page = client.get(
        "/chats/search",
        query_string={"q": "tapir", "persona": "nobody", "start": "2020-13-45", "page": "x"},
    ).get_data(as_text=True)
    assert "Not a valid choice" in page and "Not a valid date value" in page
    assert "<mark>tapir</mark>" in page  # still searched, without the bad filters
    swapped = client.get(
        "/chats/search", query_string={"q": "tapir", "start": "2026-05-02", "end": "2026-05-01"}
    ).get_data(as_text=True)
    assert "The end date is before the start date" in swapped


def test_parse_query_keeps_only_words_and_phrases() -> None:
    parsed = search_service.parse_query('Foo "bar  baz" -qux* (a) "open')
    assert [t.words for t in parsed.terms] == [
        ("foo",),
        ("bar", "baz"),
        ("qux",),
        ("a",),
        ("open",),
    ]
    assert search_service.parse_query("\x00 * - ()").terms == []


def test_a_frequent_phrase_pages_through_ten_pages_without_duplicates(
    app: Flask, add_chat: AddChat
) -> None:
    # Enough recent matches that PostgreSQL answers from its newest-messages window.
    add_chat("Foxes", [f"the red fox number {i}" for i in range(230)] + ["fox red, not a phrase"])
    seen: list[int] = []
    for page in range(1, 11):
        results = found(app, '"red fox"', page=page)
        assert len(results.messages) == 20
        assert results.has_more == (page < 10)
        seen += [hit.message_id for hit in results.messages]
    assert len(set(seen)) == 200
    for hit in results.messages:  # the phrase is marked (as one span or word by word)
        assert {w for text, marked in hit.snippet if marked for w in text.split()} == {
            "red",
            "fox",
        }
